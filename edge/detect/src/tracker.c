/* tracker.c: frame-to-frame tracking of components with a constant-velocity model
 * (predict, gate, greedy nearest neighbour, confirmed tracks first), survival through
 * missed frames, and the decision whether a closed track is an event. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect_internal.h"

typedef struct {
    float key;
    int track, comp;
} pair_t;

static int cmp_pair(const void *a, const void *b) {
    float ka = ((const pair_t *)a)->key, kb = ((const pair_t *)b)->key;
    return (ka > kb) - (ka < kb);
}

/* Least-squares velocity (px per frame index) of x and y against frame index over
 * detections [from, n_det), and the rms distance of the centroids from their best line. */
static void fit_range(const st_track *t, int from, double *vx, double *vy, double *line_rms) {
    int n = t->n_det - from;
    double st = 0, sx = 0, sy = 0;
    for (int i = from; i < t->n_det; i++) {
        st += (double)(t->det[i].frame_index - t->det[from].frame_index);
        sx += t->det[i].x;
        sy += t->det[i].y;
    }
    double mt = st / n, mx = sx / n, my = sy / n;
    double ctt = 0, ctx = 0, cty = 0, cxx = 0, cyy = 0, cxy = 0;
    for (int i = from; i < t->n_det; i++) {
        double dt = (double)(t->det[i].frame_index - t->det[from].frame_index) - mt;
        double dx = t->det[i].x - mx, dy = t->det[i].y - my;
        ctt += dt * dt;
        ctx += dt * dx;
        cty += dt * dy;
        cxx += dx * dx;
        cyy += dy * dy;
        cxy += dx * dy;
    }
    *vx = ctt > 0 ? ctx / ctt : 0.0;
    *vy = ctt > 0 ? cty / ctt : 0.0;
    if (line_rms) {
        double a = 0.5 * (cxx + cyy) / n, b = 0.5 * (cxx - cyy) / n, c = cxy / n;
        double lmin = a - sqrt(b * b + c * c);
        *line_rms = sqrt(lmin > 0 ? lmin : 0.0);
    }
}

void st_track_fit(const st_track *t, double *vx, double *vy, double *line_rms) {
    fit_range(t, 0, vx, vy, line_rms);
}

/* Median of the detections' widths (of at most the first 64 detections: a bounded cost). */
static double median_width(const st_track *t) {
    double v[64];
    int n = t->n_det < 64 ? t->n_det : 64;
    for (int i = 0; i < n; i++) {
        double w = t->det[i].width;
        int j = i;
        while (j > 0 && v[j - 1] > w) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = w;
    }
    return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

#define BORDER_PX 3 /* how close to the frame's edge a detection counts as on the border */

/* True when every detection of the track lies within BORDER_PX of the frame's edge. */
static int hugs_border(const st_detector *d, const st_track *t) {
    for (int i = 0; i < t->n_det; i++) {
        const int32_t *b = t->det[i].bbox;
        if (b[0] > BORDER_PX && b[1] > BORDER_PX && b[2] < d->width - 1 - BORDER_PX &&
            b[3] < d->height - 1 - BORDER_PX)
            return 0;
    }
    return 1;
}

/* Close a track: keep it (CLOSED, waiting for its after-margin frames) if it is an event. */
static void close_track(st_detector *d, st_track *t) {
    const st_config *c = &d->cfg;
    double vx, vy, rms;
    st_track_fit(t, &vx, &vy, &rms);
    double speed = hypot(vx, vy);
    double span = (double)(t->det[t->n_det - 1].frame_index - t->det[0].frame_index);
    double dist = speed * span; /* fitted travel: robust to centroid noise at the ends */
    double tol = c->max_line_rms_px > 0.02 * dist ? c->max_line_rms_px : 0.02 * dist;
    double s2 = 0, smax = 0;
    for (int i = 0; i < t->n_det; i++) {
        double q = t->det[i].snr * t->det[i].snr;
        s2 += q;
        if (q > smax) smax = q;
    }
    t->speed = speed;
    t->snr = sqrt(s2);
    t->width = median_width(t);
    /* evidence without the brightest detection, so one flash (an aircraft strobe, a
     * twinkle) linked with noise peaks is not enough */
    double evidence = sqrt(s2 - smax);
    /* a source cut by the frame's edge (a star half outside) shifts its centroid as it
     * twinkles: a short track that never leaves the border needs two more detections */
    int min_frames = c->min_frames + (hugs_border(d, t) ? 2 : 0);
    if (t->n_det >= min_frames && speed >= c->min_speed_px_per_frame && dist >= c->min_travel_px &&
        rms <= tol && evidence >= c->min_track_snr)
        t->state = TRACK_CLOSED;
    else
        t->state = TRACK_FREE;
}

static void add_detection(st_detector *d, st_track *t, const st_component *comp, int64_t frame_index,
                          double t_unix, uint64_t seq) {
    if (t->n_det >= d->cfg.max_event_frames) return;
    st_detection *det = &t->det[t->n_det++];
    det->frame_index = frame_index;
    det->seq = seq;
    det->t_unix = t_unix;
    det->x = comp->x;
    det->y = comp->y;
    det->flux = comp->flux;
    det->snr = comp->snr;
    det->width = comp->width;
    det->bbox[0] = comp->x0;
    det->bbox[1] = comp->y0;
    det->bbox[2] = comp->x1;
    det->bbox[3] = comp->y1;
    det->n_pixels = comp->n_pixels;
    for (int i = 0; i < comp->n_pixels; i++) {
        if (t->n_pix >= d->cfg.max_track_pixels) {
            t->pix_truncated = 1;
            break;
        }
        t->pix[t->n_pix] = d->pixels[comp->first + (uint32_t)i];
        t->pix_seq[t->n_pix] = seq;
        t->n_pix++;
    }
    if (t->n_det >= 2) {
        int from = t->n_det > 6 ? t->n_det - 6 : 0;
        fit_range(t, from, &t->vx, &t->vy, NULL);
    }
}

static st_track *new_track(st_detector *d) {
    for (int i = 0; i < d->cfg.max_tracks; i++) {
        st_track *t = &d->tracks[i];
        if (t->state == TRACK_FREE) {
            t->state = TRACK_ACTIVE;
            t->n_det = 0;
            t->n_pix = 0;
            t->pix_truncated = 0;
            t->vx = t->vy = t->speed = t->snr = t->width = 0.0;
            t->static_start = 0;
            return t;
        }
    }
    return NULL;
}

void st_track_frame(st_detector *d, int64_t frame_index, double t_unix, uint64_t seq) {
    const st_config *c = &d->cfg;
    pair_t *pairs = (pair_t *)d->pairs_dist; /* pairs_dist is sized for pair_t (detector.c) */
    int n_pairs = 0;
    const int max_pairs = c->max_tracks * c->max_components;
    for (int i = 0; i < c->max_tracks; i++) {
        st_track *t = &d->tracks[i];
        if (t->state != TRACK_ACTIVE) continue;
        if (frame_index - t->det[0].frame_index + 1 > c->max_event_frames) {
            close_track(d, t);
            continue;
        }
        const st_detection *last = &t->det[t->n_det - 1];
        double dt = (double)(frame_index - last->frame_index);
        double px = last->x, py = last->y, gate;
        if (t->n_det >= 2) {
            px += t->vx * dt;
            py += t->vy * dt;
            gate = c->gate_px + 0.25 * hypot(t->vx, t->vy) * dt;
        } else if (t->static_start) {
            gate = c->gate_px + c->slow_speed_px_per_frame * dt; /* a static start may only move slowly */
        } else {
            gate = c->max_speed_px_per_frame * dt;
        }
        for (int j = 0; j < d->n_comps && n_pairs < max_pairs; j++) {
            const st_component *comp = &d->comps[j];
            if (comp->is_wide) continue;
            /* a static pixel (fired again and again) may only continue a slow track */
            if (comp->is_static && !(t->n_det >= 2 && hypot(t->vx, t->vy) < c->slow_speed_px_per_frame))
                continue;
            double dist = hypot(comp->x - px, comp->y - py);
            if (dist > gate) continue;
            if (t->n_det < 2) {
                /* a second detection: prefer the component of like flux, so a noise peak
                 * next to a meteor's next position does not steal it */
                double fa = last->flux > 1e-3 ? last->flux : 1e-3, fb = comp->flux > 1e-3 ? comp->flux : 1e-3;
                dist = 1e6 + dist * (1.0 + fabs(log(fb / fa)));
            }
            pairs[n_pairs].key = (float)dist;
            pairs[n_pairs].track = i;
            pairs[n_pairs].comp = j;
            n_pairs++;
        }
    }
    if (n_pairs > 1) qsort(pairs, (size_t)n_pairs, sizeof *pairs, cmp_pair);
    for (int k = 0; k < n_pairs; k++) {
        st_track *t = &d->tracks[pairs[k].track];
        st_component *comp = &d->comps[pairs[k].comp];
        if (comp->used || t->state != TRACK_ACTIVE || t->det[t->n_det - 1].seq == seq) continue;
        comp->used = 1;
        add_detection(d, t, comp, frame_index, t_unix, seq);
    }
    for (int i = 0; i < c->max_tracks; i++) {
        st_track *t = &d->tracks[i];
        if (t->state != TRACK_ACTIVE) continue;
        const st_detection *last = &t->det[t->n_det - 1];
        if (frame_index - last->frame_index > c->max_gap_frames) {
            close_track(d, t);
        } else if (t->n_det >= 32 && (t->n_det & 15) == 0) {
            double vx, vy;
            fit_range(t, 0, &vx, &vy, NULL);
            double span = (double)(last->frame_index - t->det[0].frame_index);
            if (hypot(vx, vy) * span < 1.5) t->state = TRACK_FREE; /* a static source that keeps firing */
        }
    }
    for (int j = 0; j < d->n_comps; j++) {
        st_component *comp = &d->comps[j];
        if (comp->used || comp->is_wide) continue;
        st_track *t = new_track(d);
        if (!t) break;
        comp->used = 1;
        t->static_start = comp->is_static;
        add_detection(d, t, comp, frame_index, t_unix, seq);
    }
    for (int i = 0; i < c->max_tracks; i++) {
        st_track *t = &d->tracks[i];
        if (t->state == TRACK_CLOSED && frame_index >= t->det[t->n_det - 1].frame_index + c->margin_frames) {
            t->state = TRACK_READY;
            d->ready[d->n_ready++] = i;
        }
    }
}

void st_track_close_all(st_detector *d) {
    for (int i = 0; i < d->cfg.max_tracks; i++) {
        st_track *t = &d->tracks[i];
        if (t->state == TRACK_ACTIVE) close_track(d, t);
        if (t->state == TRACK_CLOSED) {
            t->state = TRACK_READY;
            d->ready[d->n_ready++] = i;
        }
    }
}
