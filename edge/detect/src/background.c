/* background.c: the per-pixel running background and the seed scan, the two loops that
 * touch every pixel of every frame. */
#include <math.h>

#include "detect_internal.h"

/* Update the background of row y with this frame's row and recompute its thresholds.
 * The update is winsorised at +-k_sigma sigma so a meteor moves the mean by at most
 * alpha * k_sigma * sigma. During warm-up (warm != 0) the mean is a plain cumulative
 * average. Masked pixels (sky_off = 255) get thresholds of 255, which no 8-bit value exceeds. */
#if defined(__GNUC__) && !defined(__clang__)
/* no trapping math: lets gcc turn the float clamps into vector selects (values are finite). */
#if defined(__x86_64__)
/* and an AVX2 clone picked at load time where the CPU has it (SSE2 otherwise) */
#define ST_NO_TRAP __attribute__((optimize("no-trapping-math"), target_clones("avx2", "default")))
#else
#define ST_NO_TRAP __attribute__((optimize("no-trapping-math")))
#endif
#else
#define ST_NO_TRAP
#endif

ST_NO_TRAP static void update_kernel(int w, float *restrict mu, float *restrict mad, uint8_t *restrict thi,
                                     uint8_t *restrict tlo, const uint8_t *restrict off,
                                     const uint8_t *restrict v, float a, float clamp_k, float clamp_s,
                                     float khi, float klo, float floor_sigma) {
    for (int x = 0; x < w; x++) {
        float m = mu[x], s = mad[x];
        float sig = 1.2533f * s;
        sig = sig > floor_sigma ? sig : floor_sigma;
        float lim = clamp_k * sig;
        float dv = (float)v[x] - m;
        dv = dv > lim ? lim : dv;
        dv = dv < -lim ? -lim : dv;
        m += a * dv;
        float ad = dv < 0.0f ? -dv : dv;
        /* after warm-up the spread is winsorised tighter (clamp_s = 3 sigma): a source dwelling
         * on the pixel (a slow satellite) must not inflate it; 3 sigma keeps the Gaussian
         * estimate unbiased to 1 % */
        float lim3 = clamp_s * sig;
        ad = ad > lim3 ? lim3 : ad;
        s += a * (ad - s);
        mu[x] = m;
        mad[x] = s;
        sig = 1.2533f * s;
        sig = sig > floor_sigma ? sig : floor_sigma;
        float h = m + khi * sig, l = m + klo * sig;
        h = h < 255.0f ? h : 255.0f;
        l = l < 255.0f ? l : 255.0f;
        int hi = (int)h, lo = (int)l;
        thi[x] = (uint8_t)(hi | off[x]);
        tlo[x] = (uint8_t)(lo | off[x]);
    }
}

/* Update the background of row y with this frame's row and recompute its thresholds.
 * The update is winsorised at +-k_sigma sigma so a meteor moves the mean by at most
 * alpha * k_sigma * sigma. During warm-up (warm != 0) the mean is a plain cumulative
 * average. Masked pixels (sky_off = 255) get thresholds of 255, which no 8-bit value
 * exceeds. Static counters decay by 1 every 8 updates. */
void st_bg_update_row(st_detector *d, int y, const uint8_t *row, int warm) {
    const int w = d->width;
    const size_t o = (size_t)y * (size_t)w;
    uint32_t nu = d->row_updates[y];
    float a = 1.0f / (float)(nu + 1u);
    if (a < d->alpha_min) a = d->alpha_min;
    d->row_updates[y] = nu + 1u;
    update_kernel(w, d->mu + o, d->mad + o, d->thr_hi + o, d->thr_lo + o, d->sky_off + o, row, a,
                  warm ? 1e30f : d->cfg.k_sigma, warm ? 1e30f : 3.0f, d->cfg.k_sigma, d->cfg.k_sigma_low,
                  d->cfg.min_sigma_adu);
    if ((nu & 7u) == 0u) {
        uint8_t *restrict hits = d->hits + o;
        for (int x = 0; x < w; x++) hits[x] = (uint8_t)(hits[x] - (hits[x] > 0));
    }
}

/* Append to seeds[] the pixel numbers (base + x) of row pixels above thr. Returns the new
 * count, which may exceed cap (then the extra seeds are not stored). Scans 64-pixel blocks
 * with a branch-free saturating difference so the compiler vectorises the common empty case. */
int st_bg_scan_row(const uint8_t *restrict row, const uint8_t *restrict thr, int width, uint32_t base,
                   uint32_t *restrict seeds, int n, int cap) {
    for (int x0 = 0; x0 < width; x0 += 64) {
        int end = x0 + 64 < width ? x0 + 64 : width;
        uint8_t acc = 0;
        for (int x = x0; x < end; x++) {
            uint8_t a = row[x], t = thr[x];
            acc |= (uint8_t)(a > t ? a - t : 0);
        }
        if (!acc) continue;
        for (int x = x0; x < end; x++) {
            if (row[x] > thr[x]) {
                if (n < cap) seeds[n] = base + (uint32_t)x;
                n++;
            }
        }
    }
    return n;
}
