/* stack.c: running max / frame-of-max / mean / std of a block of 8-bit frames. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "skytrail_detect.h"

struct st_stack {
    int width, height, count;
    uint8_t *max_pixel;
    uint16_t *max_frame;
    uint32_t *sum;    /* 255 * 65535 fits in 32 bits */
    uint64_t *sum_sq;
    uint16_t *excluded; /* values left out per pixel (st_stack_exclude) */
};

const char *st_status_message(int status) {
    switch (status) {
    case ST_OK: return "ok";
    case ST_ERR_NULL: return "a required pointer was NULL";
    case ST_ERR_SIZE: return "width, height or row stride out of range";
    case ST_ERR_NOMEM: return "out of memory";
    case ST_ERR_FULL: return "frame stack is full (65535 frames)";
    case ST_ERR_EMPTY: return "frame stack needs at least 2 frames";
    case ST_ERR_INDEX: return "frame index is not after the previous frame's";
    case ST_ERR_TIME: return "frame time is not finite or not after the previous frame's";
    case ST_ERR_CONFIG: return "a detector configuration value is out of range";
    case ST_ERR_RANGE: return "event number or pixel index out of range";
    default: return "unknown status";
    }
}

int st_stack_new(int width, int height, st_stack **out) {
    if (!out) return ST_ERR_NULL;
    *out = NULL;
    if (width < 1 || height < 1 || width > ST_MAX_DIM || height > ST_MAX_DIM) return ST_ERR_SIZE;
    size_t n = (size_t)width * (size_t)height;
    st_stack *s = calloc(1, sizeof *s);
    if (!s) return ST_ERR_NOMEM;
    s->width = width;
    s->height = height;
    s->max_pixel = calloc(n, sizeof *s->max_pixel);
    s->max_frame = calloc(n, sizeof *s->max_frame);
    s->sum = calloc(n, sizeof *s->sum);
    s->sum_sq = calloc(n, sizeof *s->sum_sq);
    s->excluded = calloc(n, sizeof *s->excluded);
    if (!s->max_pixel || !s->max_frame || !s->sum || !s->sum_sq || !s->excluded) {
        st_stack_free(s);
        return ST_ERR_NOMEM;
    }
    *out = s;
    return ST_OK;
}

void st_stack_free(st_stack *s) {
    if (!s) return;
    free(s->max_pixel);
    free(s->max_frame);
    free(s->sum);
    free(s->sum_sq);
    free(s->excluded);
    free(s);
}

int st_stack_reset(st_stack *s) {
    if (!s) return ST_ERR_NULL;
    size_t n = (size_t)s->width * (size_t)s->height;
    memset(s->max_pixel, 0, n * sizeof *s->max_pixel);
    memset(s->max_frame, 0, n * sizeof *s->max_frame);
    memset(s->sum, 0, n * sizeof *s->sum);
    memset(s->sum_sq, 0, n * sizeof *s->sum_sq);
    memset(s->excluded, 0, n * sizeof *s->excluded);
    s->count = 0;
    return ST_OK;
}

int st_stack_count(const st_stack *s) { return s ? s->count : 0; }

int st_stack_add(st_stack *s, const uint8_t *frame, ptrdiff_t row_stride) {
    if (!s || !frame) return ST_ERR_NULL;
    if (row_stride < s->width) return ST_ERR_SIZE;
    if (s->count >= ST_STACK_MAX_FRAMES) return ST_ERR_FULL;
    const uint16_t index = (uint16_t)s->count;
    for (int y = 0; y < s->height; y++) {
        const uint8_t *row = frame + (ptrdiff_t)y * row_stride;
        size_t off = (size_t)y * (size_t)s->width;
        uint8_t *mx = s->max_pixel + off;
        uint16_t *mf = s->max_frame + off;
        uint32_t *sum = s->sum + off;
        uint64_t *sq = s->sum_sq + off;
        for (int x = 0; x < s->width; x++) {
            uint32_t v = row[x];
            sum[x] += v;
            sq[x] += v * v;
            /* '>' keeps the first frame that reached the maximum */
            if (v > mx[x] || index == 0) {
                mx[x] = (uint8_t)v;
                mf[x] = index;
            }
        }
    }
    s->count++;
    return ST_OK;
}

int st_stack_result(const st_stack *s, uint8_t *max_pixel, uint16_t *max_frame, float *mean,
                    float *std) {
    if (!s) return ST_ERR_NULL;
    if (s->count < 2) return ST_ERR_EMPTY;
    size_t n = (size_t)s->width * (size_t)s->height;
    if (max_pixel) memcpy(max_pixel, s->max_pixel, n * sizeof *max_pixel);
    if (max_frame) memcpy(max_frame, s->max_frame, n * sizeof *max_frame);
    if (!mean && !std) return ST_OK;
    const double k = (double)(s->count - 1);
    for (size_t i = 0; i < n; i++) {
        double m = s->max_pixel[i];
        double sum = (double)s->sum[i] - m;
        double mu = sum / k;
        double var = ((double)s->sum_sq[i] - m * m) / k - mu * mu;
        if (mean) mean[i] = (float)mu;
        if (std) std[i] = (float)sqrt(var > 0.0 ? var : 0.0);
    }
    return ST_OK;
}

int st_stack_exclude(st_stack *s, size_t pixel, uint8_t value) {
    if (!s) return ST_ERR_NULL;
    if (pixel >= (size_t)s->width * (size_t)s->height) return ST_ERR_RANGE;
    if ((int)s->excluded[pixel] >= s->count || s->sum[pixel] < value) return ST_ERR_RANGE;
    s->sum[pixel] -= value;
    s->sum_sq[pixel] -= (uint64_t)value * value;
    s->excluded[pixel]++;
    return ST_OK;
}

int st_stack_result_masked(const st_stack *s, uint8_t *max_pixel, uint16_t *max_frame, float *mean,
                           float *std) {
    if (!s) return ST_ERR_NULL;
    if (s->count < 1) return ST_ERR_EMPTY;
    size_t n = (size_t)s->width * (size_t)s->height;
    if (max_pixel) memcpy(max_pixel, s->max_pixel, n * sizeof *max_pixel);
    if (max_frame) memcpy(max_frame, s->max_frame, n * sizeof *max_frame);
    if (!mean && !std) return ST_OK;
    for (size_t i = 0; i < n; i++) {
        int k = s->count - (int)s->excluded[i];
        double mu = NAN, sd = NAN;
        if (k > 0) {
            mu = (double)s->sum[i] / k;
            double var = (double)s->sum_sq[i] / k - mu * mu;
            sd = sqrt(var > 0.0 ? var : 0.0);
        }
        if (mean) mean[i] = (float)mu;
        if (std) std[i] = (float)sd;
    }
    return ST_OK;
}

int st_memory_pass(float *mean, const uint8_t *frame, ptrdiff_t row_stride, int width, int height) {
    if (!mean || !frame) return ST_ERR_NULL;
    if (width < 1 || height < 1 || width > ST_MAX_DIM || height > ST_MAX_DIM || row_stride < width)
        return ST_ERR_SIZE;
    for (int y = 0; y < height; y++) {
        const uint8_t *restrict row = frame + (ptrdiff_t)y * row_stride;
        float *restrict m = mean + (size_t)y * (size_t)width;
        for (int x = 0; x < width; x++) m[x] += ((float)row[x] - m[x]) * 0.0625f;
    }
    return ST_OK;
}
