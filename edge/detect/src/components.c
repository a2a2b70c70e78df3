/* components.c: connected components (8-connected) grown from seed pixels over the low
 * threshold, with flux-weighted centroid, flux, bounding box and pixel count. Only the
 * candidate pixels are visited, so the cost follows the number of bright pixels, not the
 * frame size. A per-pixel stamp (the frame's number) marks visited pixels without clearing. */
#include <math.h>
#include <string.h>

#include "detect_internal.h"

static void next_stamp(st_detector *d) {
    d->stamp_now++;
    if (d->stamp_now == 0) { /* wrapped: clear once every 65535 frames */
        memset(d->stamp, 0, d->n * sizeof *d->stamp);
        d->stamp_now = 1;
    }
}

void st_label(st_detector *d, const uint8_t *frame, int n_seeds) {
    next_stamp(d);
    const int w = d->width, h = d->height;
    const uint16_t now = d->stamp_now;
    uint16_t *restrict stamp = d->stamp;
    const uint8_t *restrict tlo = d->thr_lo;
    const float *restrict mu = d->mu;
    uint32_t *restrict px = d->pixels;
    int tail = 0;
    d->n_comps = 0;
    for (int s = 0; s < n_seeds; s++) {
        uint32_t seed = d->seeds[s];
        if (d->hits[seed] < 255) d->hits[seed]++;
    }
    for (int s = 0; s < n_seeds && d->n_comps < d->cfg.max_components; s++) {
        uint32_t seed = d->seeds[s];
        if (stamp[seed] == now) continue;
        if (tail >= d->max_pixels) break;
        stamp[seed] = now;
        int head = tail;
        const int first = tail;
        px[tail++] = seed;
        double sw = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        int32_t x0 = w, y0 = h, x1 = -1, y1 = -1;
        float peak = -1.0f;
        uint32_t peak_px = seed;
        while (head < tail) {
            uint32_t p = px[head++];
            int y = (int)(p / (uint32_t)w), x = (int)(p - (uint32_t)y * (uint32_t)w);
            float wgt = (float)frame[p] - mu[p];
            if (wgt < 0.0f) wgt = 0.0f;
            sw += wgt;
            sx += (double)wgt * x;
            sy += (double)wgt * y;
            sxx += (double)wgt * x * x;
            syy += (double)wgt * y * y;
            sxy += (double)wgt * x * y;
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
            if (wgt > peak) {
                peak = wgt;
                peak_px = p;
            }
            for (int dy = -1; dy <= 1; dy++) {
                int yy = y + dy;
                if (yy < 0 || yy >= h) continue;
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx;
                    if (xx < 0 || xx >= w || (dx == 0 && dy == 0)) continue;
                    uint32_t q = (uint32_t)yy * (uint32_t)w + (uint32_t)xx;
                    if (stamp[q] == now || frame[q] <= tlo[q]) continue;
                    stamp[q] = now;
                    if (tail < d->max_pixels) px[tail++] = q;
                }
            }
        }
        st_component *c = &d->comps[d->n_comps++];
        c->n_pixels = tail - first;
        c->first = (uint32_t)first;
        c->flux = sw;
        /* significance: flux over the noise of n pixels at the peak's sigma */
        float sig = 1.2533f * d->mad[peak_px];
        if (sig < d->cfg.min_sigma_adu) sig = d->cfg.min_sigma_adu;
        if (sig < 0.5f) sig = 0.5f;
        c->snr = sw / ((double)sig * sqrt((double)c->n_pixels));
        c->width = 0.0;
        if (sw > 0) {
            c->x = sx / sw;
            c->y = sy / sw;
            /* minor-axis sigma of the flux-weighted second moments */
            double vxx = sxx / sw - c->x * c->x, vyy = syy / sw - c->y * c->y, vxy = sxy / sw - c->x * c->y;
            double a = 0.5 * (vxx + vyy), b = 0.5 * (vxx - vyy);
            double lmin = a - sqrt(b * b + vxy * vxy);
            c->width = lmin > 0 ? sqrt(lmin) : 0.0;
        } else {
            c->x = 0.5 * (x0 + x1);
            c->y = 0.5 * (y0 + y1);
        }
        c->x0 = x0;
        c->y0 = y0;
        c->x1 = x1;
        c->y1 = y1;
        c->is_static = d->hits[peak_px] >= d->cfg.static_hits;
        c->is_wide = c->width > d->cfg.max_width_px;
        c->used = 0;
    }
    /* The halo of a wide blob (an insect near the lens, a cloud edge) breaks into small
     * components around it: flag those within 3 widths of a wide component's box. */
    for (int i = 0; i < d->n_comps; i++) {
        const st_component *b = &d->comps[i];
        if (!b->is_wide || b->n_pixels < 2) continue;
        double m = 3.0 * b->width;
        for (int j = 0; j < d->n_comps; j++) {
            st_component *c = &d->comps[j];
            if (c->x >= b->x0 - m && c->x <= b->x1 + m && c->y >= b->y0 - m && c->y <= b->y1 + m) c->is_wide = 2;
        }
    }
}
