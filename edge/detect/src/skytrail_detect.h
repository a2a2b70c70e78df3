/* skytrail_detect.h: the C core of Skytrail's detection, usable without Python.
 *
 * Conventions: frames are 8-bit grayscale, row-major, `row_stride` bytes between rows
 * (>= width). Every function returns an int status (ST_OK on success); st_status_message()
 * turns it into a short text. No function prints, exits or keeps global state: each
 * object belongs to one camera and may be used from one thread at a time.
 */
#ifndef SKYTRAIL_DETECT_H
#define SKYTRAIL_DETECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum st_status {
    ST_OK = 0,
    ST_ERR_NULL = 1,      /* a required pointer was NULL */
    ST_ERR_SIZE = 2,      /* width, height or stride out of range */
    ST_ERR_NOMEM = 3,     /* allocation failed */
    ST_ERR_FULL = 4,      /* the stack already holds ST_STACK_MAX_FRAMES frames */
    ST_ERR_EMPTY = 5,     /* a result was asked of a stack with fewer than 2 frames */
    ST_ERR_INDEX = 6,     /* frame index not after the previous frame's */
    ST_ERR_TIME = 7,      /* frame time not finite or not after the previous frame's */
    ST_ERR_CONFIG = 8,    /* a detector configuration value is out of range */
    ST_ERR_RANGE = 9      /* an event number or pixel index out of range */
};

#define ST_MAX_DIM 16384
#define ST_STACK_MAX_FRAMES 65535

/* A short, static, human-readable message for a status code. */
const char *st_status_message(int status);

/* --- Frame stack: the four aggregate images of a block of frames (as in RMS / M3) ---
 * max pixel, index of the frame that held it, and the mean and standard deviation of
 * each pixel over the block with that pixel's maximum left out, so that a passing
 * meteor does not bias the background.
 */
typedef struct st_stack st_stack;

/* Allocate a stack for width x height frames (1..ST_MAX_DIM). *out receives it;
 * free it with st_stack_free. */
int st_stack_new(int width, int height, st_stack **out);

/* Free a stack (NULL is allowed). */
void st_stack_free(st_stack *stack);

/* Forget all frames, keep the allocation. */
int st_stack_reset(st_stack *stack);

/* Add one frame; row_stride in bytes, >= width. */
int st_stack_add(st_stack *stack, const uint8_t *frame, ptrdiff_t row_stride);

/* Number of frames added since creation or the last reset (0 if stack is NULL). */
int st_stack_count(const st_stack *stack);

/* Write the aggregates into caller-owned, contiguous width*height arrays. Any output
 * pointer may be NULL to skip it. Needs at least 2 frames. */
int st_stack_result(const st_stack *stack, uint8_t *max_pixel, uint16_t *max_frame,
                    float *mean, float *std);

/* Leave one value of one pixel out of the mean and std of st_stack_result_masked
 * (the pixel's value in one frame already added; `pixel` = y * width + x). The caller
 * must exclude each (pixel, frame) pair at most once. */
int st_stack_exclude(st_stack *stack, size_t pixel, uint8_t value);

/* Like st_stack_result, but mean and std (population) are over each pixel's frames
 * minus the values left out with st_stack_exclude, and the maximum is NOT left out.
 * max_pixel / max_frame cover all frames. Where no value is left: mean = std = NaN.
 * Needs at least 1 frame. */
int st_stack_result_masked(const st_stack *stack, uint8_t *max_pixel, uint16_t *max_frame,
                           float *mean, float *std);

/* --- Memory-bound floor for benchmarks ---
 * Reads one frame and updates a float32 running mean of every pixel:
 * mean += (frame - mean) / 16. `mean` is a contiguous width*height array. */
int st_memory_pass(float *mean, const uint8_t *frame, ptrdiff_t row_stride, int width, int height);

/* --- Detector: one camera's real-time meteor detection ---
 * Per frame: a running per-pixel background (mean and mean absolute deviation, float32,
 * updated on 1 row in `background_every` per frame, winsorised at the high threshold
 * so a passing meteor is not absorbed), a hysteresis threshold (seeds above
 * mean + k_sigma * sigma, grown over mean + k_sigma_low * sigma, 8-connected), per-
 * component flux-weighted centroid, flux, bounding box and pixel count, a per-pixel
 * counter that marks pixels firing again and again as static (hot pixels, twinkling
 * stars), and a constant-velocity tracker (predict, gate, greedy nearest neighbour)
 * that survives up to max_gap_frames missed frames. A closed track that has at least
 * min_frames detections, travelled at least min_travel_px at min_speed_px_per_frame or
 * faster, along a straight line, becomes an event; a ring buffer of the last frames gives
 * its clip and its aggregate images. All memory is allocated by st_detector_new.
 */
typedef struct st_detector st_detector;

enum st_event_kind { ST_KIND_FAST = 0, ST_KIND_SLOW = 1 };

typedef struct st_config {
    float k_sigma;                 /* seed threshold in background sigmas (default 5) */
    float k_sigma_low;             /* growth threshold in background sigmas (default 2.5) */
    float min_sigma_adu;           /* floor on the background sigma, ADU (default 1.0) */
    float background_tau_frames;   /* time constant of the running background (default 128) */
    int background_every;          /* each row's background is updated every this many frames (1..16, default 8) */
    int warmup_frames;             /* frames that only build the background (default 8) */
    int min_frames;                /* fewest detections of an event (default 3) */
    int max_gap_frames;            /* a track survives this many frames without detection (default 2) */
    int margin_frames;             /* clip frames before the first and after the last detection (default 5) */
    int max_event_frames;          /* longer tracks are closed and reported (default 600) */
    int clip_max_frames;           /* frames of a track the ring buffer keeps for its clip (default 64) */
    float min_speed_px_per_frame;  /* slower tracks are static, never reported (default 0.03: the sky's
                                      own drift is far slower, a satellite's far faster) */
    float slow_speed_px_per_frame; /* slower events are ST_KIND_SLOW (default 0: 0.1 % of the frame
                                      diagonal, at least 1 px; about 3 deg/s for a 90 deg field at 30
                                      frames/s) */
    float max_speed_px_per_frame;  /* gate radius for a track's second detection (default 0: 3 % of the
                                      frame diagonal, at least 8 px; about 100 deg/s for a 90 deg field
                                      at 30 frames/s, whatever the binning) */
    float min_travel_px;           /* fitted travel (speed x frames spanned) of an event (default 1.5) */
    float gate_px;                 /* gate radius around a predicted position (default 4) */
    float max_line_rms_px;         /* largest rms distance of centroids from the fitted line (default 2) */
    float min_track_snr;           /* an event's evidence: sqrt of the sum of its detections' snr^2, the
                                      brightest left out, at least this (default 12) */
    float max_width_px;            /* components wider than this (minor-axis sigma, px) and the small
                                      components in their halo are not tracked: insects near the lens,
                                      cloud edges (default 0: 0.6 % of the frame diagonal, at least 2 px) */
    int crop_margin_px;            /* clip crop around the track's bounding box (default 16) */
    int static_hits;               /* a pixel whose fire counter reaches this is static (default 24) */
    int max_tracks;                /* tracks followed at once (default 128) */
    int max_components;            /* components kept per frame (default 512) */
    int max_seed_pixels;           /* more seeds than this: the frame is skipped (0: 0.5 % of pixels) */
    int max_component_pixels;      /* labelled pixels per frame (0: 2 % of pixels, at least 4096) */
    int max_track_pixels;          /* (pixel, frame) pairs kept per track for the event mask (default 8192) */
} st_config;

/* Fill *cfg with the defaults above. */
void st_config_default(st_config *cfg);

/* Check every field of *cfg; ST_ERR_CONFIG names no field, so the caller should
 * validate first if it wants a precise message. */
int st_config_check(const st_config *cfg);

/* Allocate a detector for width x height frames (1..ST_MAX_DIM each). sky_mask may be
 * NULL (all sky) or point to height rows of width bytes, mask_stride apart: nonzero =
 * sky to use. cfg may be NULL (defaults). Free with st_detector_free. */
int st_detector_new(int width, int height, const st_config *cfg, const uint8_t *sky_mask,
                    ptrdiff_t mask_stride, st_detector **out);

/* Free a detector (NULL is allowed). */
void st_detector_free(st_detector *det);

/* Bytes allocated by this detector; fixed at creation. */
size_t st_detector_memory_bytes(const st_detector *det);

/* Feed one frame: frame_index strictly increasing (gaps allowed: dropped frames),
 * t_unix finite and strictly increasing. On error nothing changes. *n_events (may be
 * NULL) receives the number of events that ended with this frame; they can be read
 * with st_detector_event_info / st_detector_event_read until the next call of
 * st_detector_process or st_detector_flush. */
int st_detector_process(st_detector *det, const uint8_t *frame, ptrdiff_t row_stride,
                        int64_t frame_index, double t_unix, int *n_events);

/* End of stream: close every open track; events as for st_detector_process. The
 * background is kept, so frames may follow. */
int st_detector_flush(st_detector *det, int *n_events);

/* Number of events readable now. */
int st_detector_event_count(const st_detector *det);

typedef struct st_event_info {
    int n_detections;          /* N: frames with a detection */
    int n_clip;                /* M: clip frames */
    int clip_x0, clip_y0;      /* crop origin in the full frame */
    int clip_width, clip_height;
    double speed_px_per_frame; /* least-squares speed along the track */
    int kind;                  /* enum st_event_kind */
    int mask_truncated;        /* 1 if max_track_pixels was reached: mask incomplete */
    double snr;                /* combined significance sqrt(sum of per-detection snr^2), where a
                                  detection's snr = flux / (sigma * sqrt(n_pixels)) */
    double width_px;           /* median minor-axis sigma (flux-weighted) of the detections, px */
} st_event_info;

/* Sizes and plain fields of event k (0 <= k < st_detector_event_count). */
int st_detector_event_info(const st_detector *det, int k, st_event_info *info);

/* Caller-owned output arrays of one event; any pointer may be NULL to skip it.
 * N = n_detections, M = n_clip, (h, w) = clip size, (H, W) = frame size. */
typedef struct st_event_out {
    int64_t *frame_index;      /* N */
    double *t_unix;            /* N */
    double *x_px, *y_px;       /* N: flux-weighted centroid, pixel (0,0) = centre of top-left pixel */
    double *flux_adu;          /* N: background-subtracted sum over the component */
    int32_t *bbox;             /* N x 4: x0, y0, x1, y1 inclusive */
    int32_t *n_pixels;         /* N */
    uint8_t *clip;             /* M x h x w */
    int64_t *clip_frame_index; /* M */
    double *clip_t_unix;       /* M */
    uint8_t *max_pixel;        /* H x W, over the clip's frames */
    uint16_t *max_frame;       /* H x W, index into clip_frame_index */
    float *mean, *std;         /* H x W, over the clip's frames, the event's own pixels left out */
    uint8_t *mask;             /* H x W, 1 where the event's components lay */
} st_event_out;

/* Fill the arrays of event k. Aggregates cost one pass over the clip's full frames. */
int st_detector_event_read(st_detector *det, int k, const st_event_out *out);

typedef struct st_detector_stats {
    int64_t frames;            /* frames processed */
    int64_t skipped_frames;    /* frames with too many seeds (not searched) */
    int active_tracks;
    int components_last;       /* components of the last frame */
} st_detector_stats;

int st_detector_get_stats(const st_detector *det, st_detector_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
