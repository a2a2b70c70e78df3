/* detector.c: the per-camera detector object: allocation, the per-frame pipeline
 * (ring buffer, background, seeds, components, tracking) and reading events out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect_internal.h"

void st_config_default(st_config *c) {
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->k_sigma = 5.0f;
    c->k_sigma_low = 2.5f;
    c->min_sigma_adu = 1.0f;
    c->background_tau_frames = 128.0f;
    c->background_every = 8;
    c->warmup_frames = 8;
    c->min_frames = 3;
    c->max_gap_frames = 2;
    c->margin_frames = 5;
    c->max_event_frames = 600;
    c->clip_max_frames = 64;
    c->min_speed_px_per_frame = 0.03f;
    c->slow_speed_px_per_frame = 0.0f;
    c->max_speed_px_per_frame = 0.0f;
    c->min_travel_px = 1.5f;
    c->gate_px = 4.0f;
    c->max_line_rms_px = 2.0f;
    c->min_track_snr = 12.0f;
    c->max_width_px = 0.0f;
    c->crop_margin_px = 16;
    c->static_hits = 24;
    c->max_tracks = 128;
    c->max_components = 512;
    c->max_seed_pixels = 0;
    c->max_component_pixels = 0;
    c->max_track_pixels = 8192;
}

static int finite_in(float v, float lo, float hi) { return isfinite(v) && v >= lo && v <= hi; }

int st_config_check(const st_config *c) {
    if (!c) return ST_ERR_NULL;
    int ok = finite_in(c->k_sigma, 0.5f, 100.0f) && finite_in(c->k_sigma_low, 0.0f, c->k_sigma) &&
             finite_in(c->min_sigma_adu, 0.0f, 255.0f) &&
             finite_in(c->background_tau_frames, 1.0f, 1e7f) && c->background_every >= 1 &&
             c->background_every <= 16 && (float)c->background_every <= c->background_tau_frames &&
             c->warmup_frames >= 1 && c->warmup_frames <= 100000 && c->min_frames >= 1 &&
             c->max_gap_frames >= 0 && c->max_gap_frames <= 1000 && c->margin_frames >= 0 &&
             c->margin_frames <= 1000 && c->max_event_frames >= c->min_frames &&
             c->max_event_frames <= 100000 && c->clip_max_frames >= 1 && c->clip_max_frames <= 10000 &&
             finite_in(c->min_speed_px_per_frame, 0.0f, 1e4f) &&
             finite_in(c->slow_speed_px_per_frame, 0.0f, 1e4f) &&
             finite_in(c->max_speed_px_per_frame, 0.0f, 1e5f) && finite_in(c->min_travel_px, 0.0f, 1e5f) &&
             finite_in(c->gate_px, 0.0f, 1e5f) && finite_in(c->max_line_rms_px, 0.0f, 1e5f) &&
             finite_in(c->min_track_snr, 0.0f, 1e6f) && finite_in(c->max_width_px, 0.0f, 1e5f) &&
             c->crop_margin_px >= 0 && c->crop_margin_px <= ST_MAX_DIM && c->static_hits >= 1 &&
             c->static_hits <= 255 && c->max_tracks >= 1 && c->max_tracks <= 4096 &&
             c->max_components >= 1 && c->max_components <= 65536 && c->max_seed_pixels >= 0 &&
             c->max_component_pixels >= 0 && c->max_track_pixels >= 1 && c->max_track_pixels <= (1 << 24);
    return ok ? ST_OK : ST_ERR_CONFIG;
}

/* calloc that adds to the detector's byte count; NULL on overflow or failure. */
static void *alloc(st_detector *d, size_t count, size_t size) {
    if (count == 0) count = 1;
    if (count > SIZE_MAX / size) return NULL;
    void *p = calloc(count, size);
    if (p) d->memory_bytes += count * size;
    return p;
}

void st_detector_free(st_detector *d) {
    if (!d) return;
    free(d->mu);
    free(d->mad);
    free(d->thr_hi);
    free(d->thr_lo);
    free(d->hits);
    free(d->sky_off);
    free(d->row_updates);
    free(d->stamp);
    free(d->seeds);
    free(d->pixels);
    free(d->comps);
    free(d->ring);
    free(d->ring_index);
    free(d->ring_t);
    free(d->ring_seq);
    free(d->tracks);
    free(d->det_pool);
    free(d->pix_pool);
    free(d->pix_seq_pool);
    free(d->pairs_dist);
    free(d->ready);
    st_stack_free(d->stack);
    free(d);
}

int st_detector_new(int width, int height, const st_config *cfg, const uint8_t *sky_mask,
                    ptrdiff_t mask_stride, st_detector **out) {
    if (!out) return ST_ERR_NULL;
    *out = NULL;
    if (width < 1 || height < 1 || width > ST_MAX_DIM || height > ST_MAX_DIM) return ST_ERR_SIZE;
    if (sky_mask && mask_stride < width) return ST_ERR_SIZE;
    st_config c;
    if (cfg)
        c = *cfg;
    else
        st_config_default(&c);
    int status = st_config_check(&c);
    if (status != ST_OK) return status;
    st_detector *d = calloc(1, sizeof *d);
    if (!d) return ST_ERR_NOMEM;
    d->memory_bytes = sizeof *d;
    const size_t n = (size_t)width * (size_t)height;
    d->width = width;
    d->height = height;
    d->n = n;
    if (c.max_seed_pixels == 0) c.max_seed_pixels = (int)(n / 200 > 64 ? n / 200 : 64);
    const double diag = hypot((double)width, (double)height);
    if (c.max_speed_px_per_frame == 0.0f) c.max_speed_px_per_frame = (float)(0.03 * diag > 8.0 ? 0.03 * diag : 8.0);
    if (c.slow_speed_px_per_frame == 0.0f) c.slow_speed_px_per_frame = (float)(0.001 * diag > 1.0 ? 0.001 * diag : 1.0);
    if (c.max_width_px == 0.0f) c.max_width_px = (float)(0.006 * diag > 2.0 ? 0.006 * diag : 2.0);
    if (c.max_component_pixels == 0) c.max_component_pixels = (int)(n / 50 > 4096 ? n / 50 : 4096);
    d->cfg = c;
    d->alpha_min = (float)c.background_every / c.background_tau_frames;
    d->max_seeds = c.max_seed_pixels;
    d->max_pixels = c.max_component_pixels;
    d->ring_n = c.clip_max_frames + 2 * c.margin_frames + c.max_gap_frames + 2;
    const size_t nt = (size_t)c.max_tracks;
    d->mu = alloc(d, n, sizeof *d->mu);
    d->mad = alloc(d, n, sizeof *d->mad);
    d->thr_hi = alloc(d, n, 1);
    d->thr_lo = alloc(d, n, 1);
    d->hits = alloc(d, n, 1);
    d->sky_off = alloc(d, n, 1);
    d->row_updates = alloc(d, (size_t)height, sizeof *d->row_updates);
    d->stamp = alloc(d, n, sizeof *d->stamp);
    d->seeds = alloc(d, (size_t)d->max_seeds, sizeof *d->seeds);
    d->pixels = alloc(d, (size_t)d->max_pixels, sizeof *d->pixels);
    d->comps = alloc(d, (size_t)c.max_components, sizeof *d->comps);
    d->ring = alloc(d, n, (size_t)d->ring_n);
    d->ring_index = alloc(d, (size_t)d->ring_n, sizeof *d->ring_index);
    d->ring_t = alloc(d, (size_t)d->ring_n, sizeof *d->ring_t);
    d->ring_seq = alloc(d, (size_t)d->ring_n, sizeof *d->ring_seq);
    d->tracks = alloc(d, nt, sizeof *d->tracks);
    d->det_pool = alloc(d, nt * (size_t)c.max_event_frames, sizeof *d->det_pool);
    d->pix_pool = alloc(d, nt * (size_t)c.max_track_pixels, sizeof *d->pix_pool);
    d->pix_seq_pool = alloc(d, nt * (size_t)c.max_track_pixels, sizeof *d->pix_seq_pool);
    /* pair list of the tracker: (float key, int track, int comp) records */
    d->pairs_dist = alloc(d, nt * (size_t)c.max_components, 3 * sizeof(float));
    d->ready = alloc(d, nt, sizeof *d->ready);
    if (st_stack_new(width, height, &d->stack) == ST_OK)
        d->memory_bytes += n * (1 + 2 + 4 + 8 + 2);
    if (!d->mu || !d->mad || !d->thr_hi || !d->thr_lo || !d->hits || !d->sky_off || !d->row_updates ||
        !d->stamp || !d->seeds || !d->pixels || !d->comps || !d->ring || !d->ring_index || !d->ring_t ||
        !d->ring_seq || !d->tracks || !d->det_pool || !d->pix_pool || !d->pix_seq_pool || !d->pairs_dist ||
        !d->ready || !d->stack) {
        st_detector_free(d);
        return ST_ERR_NOMEM;
    }
    for (size_t i = 0; i < nt; i++) {
        d->tracks[i].det = d->det_pool + i * (size_t)c.max_event_frames;
        d->tracks[i].pix = d->pix_pool + i * (size_t)c.max_track_pixels;
        d->tracks[i].pix_seq = d->pix_seq_pool + i * (size_t)c.max_track_pixels;
    }
    for (int y = 0; y < height; y++) {
        uint8_t *row = d->sky_off + (size_t)y * (size_t)width;
        if (sky_mask) {
            const uint8_t *m = sky_mask + (ptrdiff_t)y * mask_stride;
            for (int x = 0; x < width; x++) row[x] = m[x] ? 0 : 255;
        } else {
            memset(row, 0, (size_t)width);
        }
    }
    memset(d->thr_hi, 255, n);
    memset(d->thr_lo, 255, n);
    *out = d;
    return ST_OK;
}

size_t st_detector_memory_bytes(const st_detector *d) { return d ? d->memory_bytes : 0; }

/* Free the events handed out by the previous call. */
static void release_ready(st_detector *d) {
    for (int k = 0; k < d->n_ready; k++) d->tracks[d->ready[k]].state = TRACK_FREE;
    d->n_ready = 0;
}

int st_detector_process(st_detector *d, const uint8_t *frame, ptrdiff_t row_stride, int64_t frame_index,
                        double t_unix, int *n_events) {
    if (n_events) *n_events = 0;
    if (!d || !frame) return ST_ERR_NULL;
    if (row_stride < d->width) return ST_ERR_SIZE;
    if (d->seq > 0 && frame_index <= d->last_index) return ST_ERR_INDEX;
    if (!isfinite(t_unix) || (d->seq > 0 && !(t_unix > d->last_t))) return ST_ERR_TIME;
    release_ready(d);
    const int w = d->width, h = d->height;
    const uint64_t seq = d->seq;
    const int slot = (int)(seq % (uint64_t)d->ring_n);
    uint8_t *ring = d->ring + (size_t)slot * d->n;
    d->ring_index[slot] = frame_index;
    d->ring_t[slot] = t_unix;
    d->ring_seq[slot] = seq;
    d->seq++;
    d->last_index = frame_index;
    d->last_t = t_unix;
    const int warm = seq < (uint64_t)d->cfg.warmup_frames;
    const int every = d->cfg.background_every;
    const int phase = (int)(seq % (uint64_t)every);
    int n_seeds = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *src = frame + (ptrdiff_t)y * row_stride;
        uint8_t *row = ring + (size_t)y * (size_t)w;
        memcpy(row, src, (size_t)w);
        if (!warm)
            n_seeds = st_bg_scan_row(row, d->thr_hi + (size_t)y * (size_t)w, w, (uint32_t)((size_t)y * (size_t)w),
                                     d->seeds, n_seeds, d->max_seeds);
        if (warm || y % every == phase) st_bg_update_row(d, y, row, warm);
    }
    d->n_comps = 0;
    if (!warm) {
        if (n_seeds > d->max_seeds)
            d->skipped++;
        else
            st_label(d, ring, n_seeds);
        st_track_frame(d, frame_index, t_unix, seq);
    }
    if (n_events) *n_events = d->n_ready;
    return ST_OK;
}

int st_detector_flush(st_detector *d, int *n_events) {
    if (n_events) *n_events = 0;
    if (!d) return ST_ERR_NULL;
    release_ready(d);
    st_track_close_all(d);
    if (n_events) *n_events = d->n_ready;
    return ST_OK;
}

int st_detector_event_count(const st_detector *d) { return d ? d->n_ready : 0; }

/* Is the ring slot holding frame `seq` still that frame? */
static int ring_has(const st_detector *d, uint64_t seq) {
    return seq < d->seq && d->seq - seq <= (uint64_t)d->ring_n;
}

/* The clip: ring frames whose index lies within the margins of the track, oldest first.
 * Writes their slots to slots[] (capacity ring_n) and returns their number. */
static int clip_slots(const st_detector *d, const st_track *t, int *slots) {
    int64_t lo = t->det[0].frame_index - d->cfg.margin_frames;
    int64_t hi = t->det[t->n_det - 1].frame_index + d->cfg.margin_frames;
    int m = 0;
    uint64_t start = d->seq > (uint64_t)d->ring_n ? d->seq - (uint64_t)d->ring_n : 0;
    for (uint64_t s = start; s < d->seq; s++) {
        int slot = (int)(s % (uint64_t)d->ring_n);
        if (d->ring_index[slot] >= lo && d->ring_index[slot] <= hi) slots[m++] = slot;
    }
    return m;
}

static void crop_box(const st_detector *d, const st_track *t, int *x0, int *y0, int *x1, int *y1) {
    int a = d->width, b = d->height, c = -1, e = -1;
    for (int i = 0; i < t->n_det; i++) {
        const int32_t *bb = t->det[i].bbox;
        if (bb[0] < a) a = bb[0];
        if (bb[1] < b) b = bb[1];
        if (bb[2] > c) c = bb[2];
        if (bb[3] > e) e = bb[3];
    }
    int m = d->cfg.crop_margin_px;
    *x0 = a - m < 0 ? 0 : a - m;
    *y0 = b - m < 0 ? 0 : b - m;
    *x1 = c + m >= d->width ? d->width - 1 : c + m;
    *y1 = e + m >= d->height ? d->height - 1 : e + m;
}

int st_detector_event_info(const st_detector *d, int k, st_event_info *info) {
    if (!d || !info) return ST_ERR_NULL;
    if (k < 0 || k >= d->n_ready) return ST_ERR_RANGE;
    const st_track *t = &d->tracks[d->ready[k]];
    int x0, y0, x1, y1;
    crop_box(d, t, &x0, &y0, &x1, &y1);
    int64_t lo = t->det[0].frame_index - d->cfg.margin_frames;
    int64_t hi = t->det[t->n_det - 1].frame_index + d->cfg.margin_frames;
    int m = 0;
    uint64_t start = d->seq > (uint64_t)d->ring_n ? d->seq - (uint64_t)d->ring_n : 0;
    for (uint64_t s = start; s < d->seq; s++) {
        int slot = (int)(s % (uint64_t)d->ring_n);
        if (d->ring_index[slot] >= lo && d->ring_index[slot] <= hi) m++;
    }
    info->n_detections = t->n_det;
    info->n_clip = m;
    info->clip_x0 = x0;
    info->clip_y0 = y0;
    info->clip_width = x1 - x0 + 1;
    info->clip_height = y1 - y0 + 1;
    info->speed_px_per_frame = t->speed;
    info->kind = t->speed < d->cfg.slow_speed_px_per_frame ? ST_KIND_SLOW : ST_KIND_FAST;
    info->mask_truncated = t->pix_truncated;
    info->snr = t->snr;
    info->width_px = t->width;
    return ST_OK;
}

int st_detector_event_read(st_detector *d, int k, const st_event_out *out) {
    if (!d || !out) return ST_ERR_NULL;
    if (k < 0 || k >= d->n_ready) return ST_ERR_RANGE;
    const st_track *t = &d->tracks[d->ready[k]];
    for (int i = 0; i < t->n_det; i++) {
        const st_detection *det = &t->det[i];
        if (out->frame_index) out->frame_index[i] = det->frame_index;
        if (out->t_unix) out->t_unix[i] = det->t_unix;
        if (out->x_px) out->x_px[i] = det->x;
        if (out->y_px) out->y_px[i] = det->y;
        if (out->flux_adu) out->flux_adu[i] = det->flux;
        if (out->bbox) memcpy(out->bbox + 4 * (size_t)i, det->bbox, sizeof det->bbox);
        if (out->n_pixels) out->n_pixels[i] = det->n_pixels;
    }
    int slot_buf_stack[256];
    int *sl = d->ring_n <= 256 ? slot_buf_stack : malloc((size_t)d->ring_n * sizeof *sl);
    if (!sl) return ST_ERR_NOMEM;
    int m = clip_slots(d, t, sl);
    int x0, y0, x1, y1;
    crop_box(d, t, &x0, &y0, &x1, &y1);
    const size_t cw = (size_t)(x1 - x0 + 1);
    const size_t ch = (size_t)(y1 - y0 + 1);
    for (int j = 0; j < m; j++) {
        const uint8_t *f = d->ring + (size_t)sl[j] * d->n;
        if (out->clip)
            for (size_t y = 0; y < ch; y++)
                memcpy(out->clip + ((size_t)j * ch + y) * cw, f + ((size_t)y0 + y) * (size_t)d->width + (size_t)x0,
                       cw);
        if (out->clip_frame_index) out->clip_frame_index[j] = d->ring_index[sl[j]];
        if (out->clip_t_unix) out->clip_t_unix[j] = d->ring_t[sl[j]];
    }
    int status = ST_OK;
    if (out->mask) memset(out->mask, 0, d->n);
    if (out->max_pixel || out->max_frame || out->mean || out->std || out->mask) {
        st_stack_reset(d->stack);
        for (int j = 0; j < m && status == ST_OK; j++)
            status = st_stack_add(d->stack, d->ring + (size_t)sl[j] * d->n, d->width);
        for (int i = 0; i < t->n_pix && status == ST_OK; i++) {
            uint64_t s = t->pix_seq[i];
            if (!ring_has(d, s)) continue;
            int slot = (int)(s % (uint64_t)d->ring_n);
            uint32_t p = t->pix[i];
            if (out->mask) out->mask[p] = 1;
            status = st_stack_exclude(d->stack, p, d->ring[(size_t)slot * d->n + p]);
        }
        if (status == ST_OK && m > 0)
            status = st_stack_result_masked(d->stack, out->max_pixel, out->max_frame, out->mean, out->std);
    }
    if (sl != slot_buf_stack) free(sl);
    return status;
}

int st_detector_get_stats(const st_detector *d, st_detector_stats *s) {
    if (!d || !s) return ST_ERR_NULL;
    s->frames = (int64_t)d->seq;
    s->skipped_frames = d->skipped;
    s->active_tracks = 0;
    for (int i = 0; i < d->cfg.max_tracks; i++) s->active_tracks += d->tracks[i].state == TRACK_ACTIVE;
    s->components_last = d->n_comps;
    return ST_OK;
}
