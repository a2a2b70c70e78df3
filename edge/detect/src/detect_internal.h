/* detect_internal.h: private types shared by the detector's source files (not public). */
#ifndef SKYTRAIL_DETECT_INTERNAL_H
#define SKYTRAIL_DETECT_INTERNAL_H

#include "skytrail_detect.h"

/* One component of one frame. Its pixels are pixels[first .. first + n_pixels). */
typedef struct st_component {
    double x, y, flux;
    double snr;   /* flux / (sigma * sqrt(n_pixels)), sigma at the peak pixel */
    double width; /* minor-axis sigma of the flux distribution, px */
    int32_t x0, y0, x1, y1, n_pixels;
    uint32_t first;
    int is_static;
    int is_wide;  /* wider than max_width_px, or lying in the halo of such a component */
    int used;
} st_component;

/* One detection of a track. */
typedef struct st_detection {
    int64_t frame_index;
    uint64_t seq;
    double t_unix, x, y, flux, snr, width;
    int32_t bbox[4];
    int32_t n_pixels;
} st_detection;

enum st_track_state { TRACK_FREE = 0, TRACK_ACTIVE, TRACK_CLOSED, TRACK_READY };

typedef struct st_track {
    int state;
    int n_det;
    st_detection *det;   /* capacity cfg.max_event_frames */
    int n_pix;
    uint32_t *pix;       /* capacity cfg.max_track_pixels */
    uint64_t *pix_seq;
    int pix_truncated;
    double vx, vy;       /* px per frame index, from the last detections */
    double speed;        /* least-squares speed over all detections */
    double snr;          /* combined significance sqrt(sum snr_i^2) (set on closing) */
    double width;        /* median minor-axis sigma of the detections, px (set on closing) */
    int static_start;    /* first detection was a static component */
} st_track;

struct st_detector {
    st_config cfg;
    int width, height;
    size_t n;
    size_t memory_bytes;
    /* background */
    float *mu, *mad;
    uint8_t *thr_hi, *thr_lo, *hits, *sky_off; /* sky_off: 0 = sky, 255 = masked */
    uint32_t *row_updates;
    float alpha_min;
    /* labelling */
    uint16_t *stamp;
    uint16_t stamp_now;
    uint32_t *seeds;
    int max_seeds;
    uint32_t *pixels;
    int max_pixels;
    st_component *comps;
    int n_comps;
    /* ring buffer of frames */
    uint8_t *ring;
    int ring_n;
    int64_t *ring_index;
    double *ring_t;
    uint64_t *ring_seq;
    /* stream */
    uint64_t seq; /* frames accepted so far */
    int64_t last_index;
    double last_t;
    int64_t skipped;
    /* tracking */
    st_track *tracks;
    st_detection *det_pool;
    uint32_t *pix_pool;
    uint64_t *pix_seq_pool;
    int *pairs_track, *pairs_comp;
    float *pairs_dist;
    int *pairs_order;
    int *ready;
    int n_ready;
    st_stack *stack;
};

/* background.c */
void st_bg_update_row(st_detector *d, int y, const uint8_t *row, int warm);
int st_bg_scan_row(const uint8_t *restrict row, const uint8_t *restrict thr, int width, uint32_t base,
                   uint32_t *restrict seeds, int n, int cap);

/* components.c: label the components grown from d->seeds[0..n_seeds) on `frame`. */
void st_label(st_detector *d, const uint8_t *frame, int n_seeds);

/* tracker.c */
void st_track_frame(st_detector *d, int64_t frame_index, double t_unix, uint64_t seq);
void st_track_close_all(st_detector *d);
void st_track_fit(const st_track *t, double *vx, double *vy, double *line_rms);

#endif
