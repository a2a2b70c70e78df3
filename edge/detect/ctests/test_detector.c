/* test_detector.c: C-level tests of the detection core (no Python), run under ASan + UBSan
 * by run.sh. Prints one line per failed check and exits non-zero if any failed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skytrail_detect.h"

static int failures = 0;
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* xorshift noise, roughly Gaussian (sum of 4 uniforms), sigma ~ 2 ADU around `level`. */
static uint32_t rng_state = 12345u;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}
static uint8_t noisy(double level) {
    double s = 0;
    for (int i = 0; i < 4; i++) s += (double)(rnd() & 0xffff) / 65535.0 - 0.5;
    double v = level + s * 3.46 * 2.0;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

static void render(uint8_t *f, int w, int h, ptrdiff_t stride, double x, double y, double amp) {
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            double v = 20.0;
            uint8_t n = noisy(v);
            double s = amp > 0 ? amp * exp(-((c - x) * (c - x) + (r - y) * (r - y)) / (2 * 1.2 * 1.2)) : 0;
            double t = n + s;
            f[r * stride + c] = (uint8_t)(t > 255 ? 255 : t + 0.5);
        }
}

static void test_status_messages(void) {
    for (int s = 0; s <= 9; s++) CHECK(strlen(st_status_message(s)) > 0);
    CHECK(strcmp(st_status_message(12345), "unknown status") == 0);
}

static void test_bad_arguments(void) {
    st_detector *d = NULL;
    CHECK(st_detector_new(0, 10, NULL, NULL, 0, &d) == ST_ERR_SIZE && d == NULL);
    CHECK(st_detector_new(10, 10, NULL, NULL, 0, NULL) == ST_ERR_NULL);
    st_config c;
    st_config_default(&c);
    c.k_sigma = NAN;
    CHECK(st_detector_new(10, 10, &c, NULL, 0, &d) == ST_ERR_CONFIG);
    st_config_default(&c);
    c.max_tracks = 0;
    CHECK(st_config_check(&c) == ST_ERR_CONFIG);
    CHECK(st_detector_new(8, 8, NULL, NULL, 0, &d) == ST_OK);
    uint8_t f[64] = {0};
    int n = -1;
    CHECK(st_detector_process(d, NULL, 8, 0, 1.0, &n) == ST_ERR_NULL);
    CHECK(st_detector_process(d, f, 7, 0, 1.0, &n) == ST_ERR_SIZE);
    CHECK(st_detector_process(d, f, 8, 0, 1.0, &n) == ST_OK && n == 0);
    CHECK(st_detector_process(d, f, 8, 0, 2.0, &n) == ST_ERR_INDEX);
    CHECK(st_detector_process(d, f, 8, 1, 1.0, &n) == ST_ERR_TIME);
    CHECK(st_detector_process(d, f, 8, 1, NAN, &n) == ST_ERR_TIME);
    CHECK(st_detector_process(d, f, 8, 1, 2.0, &n) == ST_OK);
    st_event_info info;
    CHECK(st_detector_event_info(d, 0, &info) == ST_ERR_RANGE);
    st_event_out out;
    memset(&out, 0, sizeof out);
    CHECK(st_detector_event_read(d, -1, &out) == ST_ERR_RANGE);
    st_detector_stats stats;
    CHECK(st_detector_get_stats(d, &stats) == ST_OK && stats.frames == 2);
    st_detector_free(d);
    st_detector_free(NULL);
}

/* A spot moving 4 px/frame through frames with a row stride wider than the frame. */
static void test_moving_spot(void) {
    const int w = 100, h = 80;
    const ptrdiff_t stride = 112;
    st_detector *d = NULL;
    CHECK(st_detector_new(w, h, NULL, NULL, 0, &d) == ST_OK);
    if (!d) return;
    size_t mem0 = st_detector_memory_bytes(d);
    uint8_t *f = calloc((size_t)stride * h, 1);
    int events = 0;
    for (int i = 0; i < 60; i++) {
        int on = i >= 20 && i < 32;
        render(f, w, h, stride, 10.25 + 4.0 * (i - 20), 15.5 + 3.0 * (i - 20), on ? 100.0 : 0.0);
        int n = 0;
        CHECK(st_detector_process(d, f, stride, 1000 + i, 5.0 + i * 0.04, &n) == ST_OK);
        for (int k = 0; k < n; k++) {
            st_event_info info;
            CHECK(st_detector_event_info(d, k, &info) == ST_OK);
            CHECK(info.n_detections == 12);
            CHECK(info.kind == ST_KIND_FAST);
            CHECK(fabs(info.speed_px_per_frame - 5.0) < 0.1);
            CHECK(info.n_clip == 22);
            int64_t *fi = malloc(sizeof *fi * (size_t)info.n_detections);
            double *x = malloc(sizeof *x * (size_t)info.n_detections);
            double *y = malloc(sizeof *y * (size_t)info.n_detections);
            uint8_t *clip = malloc((size_t)info.n_clip * info.clip_width * info.clip_height);
            uint8_t *mask = malloc((size_t)w * h);
            float *mean = malloc(sizeof *mean * (size_t)w * h);
            st_event_out out;
            memset(&out, 0, sizeof out);
            out.frame_index = fi;
            out.x_px = x;
            out.y_px = y;
            out.clip = clip;
            out.mask = mask;
            out.mean = mean;
            CHECK(st_detector_event_read(d, k, &out) == ST_OK);
            for (int j = 0; j < info.n_detections; j++) {
                int64_t i2 = fi[j] - 1000;
                CHECK(fabs(x[j] - (10.25 + 4.0 * (i2 - 20))) < 0.3);
                CHECK(fabs(y[j] - (15.5 + 3.0 * (i2 - 20))) < 0.3);
            }
            CHECK(fi[0] == 1020 && fi[info.n_detections - 1] == 1031);
            int masked = 0;
            for (int p = 0; p < w * h; p++) masked += mask[p];
            CHECK(masked > 12 * 4);
            CHECK(fabs(mean[15 * w + 10] - 20.0) < 3.0);
            free(fi), free(x), free(y), free(clip), free(mask), free(mean);
            events++;
        }
    }
    int n = 0;
    CHECK(st_detector_flush(d, &n) == ST_OK && n == 0);
    CHECK(events == 1);
    CHECK(st_detector_memory_bytes(d) == mem0);
    free(f);
    st_detector_free(d);
}

/* A stack with values left out against a direct computation. */
static void test_stack_masked(void) {
    const int w = 5, h = 3, n = 6;
    uint8_t frames[6][15];
    for (int k = 0; k < n; k++)
        for (int p = 0; p < w * h; p++) frames[k][p] = (uint8_t)(rnd() % 256);
    st_stack *s = NULL;
    CHECK(st_stack_new(w, h, &s) == ST_OK);
    for (int k = 0; k < n; k++) CHECK(st_stack_add(s, frames[k], w) == ST_OK);
    CHECK(st_stack_exclude(s, 7, frames[2][7]) == ST_OK);
    CHECK(st_stack_exclude(s, 7, frames[4][7]) == ST_OK);
    CHECK(st_stack_exclude(s, 15, 0) == ST_ERR_RANGE);
    float mean[15], std[15];
    uint8_t mx[15];
    uint16_t mf[15];
    CHECK(st_stack_result_masked(s, mx, mf, mean, std) == ST_OK);
    for (int p = 0; p < w * h; p++) {
        double sum = 0, sq = 0;
        int k2 = 0;
        for (int k = 0; k < n; k++) {
            if (p == 7 && (k == 2 || k == 4)) continue;
            sum += frames[k][p];
            sq += (double)frames[k][p] * frames[k][p];
            k2++;
        }
        double mu = sum / k2, sd = sqrt(fmax(sq / k2 - mu * mu, 0));
        CHECK(fabs(mean[p] - mu) < 1e-3);
        CHECK(fabs(std[p] - sd) < 1e-2);
    }
    st_stack_free(s);
}

static void test_memory_pass(void) {
    float mean[6] = {0};
    uint8_t f[2 * 4] = {16, 32, 48, 64, 0, 0, 160, 255};
    CHECK(st_memory_pass(mean, f, 4, 3, 2) == ST_OK);
    CHECK(fabsf(mean[0] - 1.0f) < 1e-6 && fabsf(mean[5] - 10.0f) < 1e-6);
    CHECK(st_memory_pass(mean, f, 2, 3, 2) == ST_ERR_SIZE);
}

/* Noise alone, with the default configuration, never makes an event (evidence rule). */
static void test_noise_only_gives_no_event(void) {
    const int w = 64, h = 48;
    st_detector *d = NULL;
    CHECK(st_detector_new(w, h, NULL, NULL, 0, &d) == ST_OK);
    uint8_t *f = malloc((size_t)w * h);
    int total = 0, n = 0;
    for (int i = 0; i < 1500 && f; i++) {
        render(f, w, h, w, 0, 0, 0.0);
        CHECK(st_detector_process(d, f, w, i, 1.0 + i / 30.0, &n) == ST_OK);
        total += n;
    }
    CHECK(st_detector_flush(d, &n) == ST_OK);
    total += n;
    CHECK(total == 0);
    free(f);
    st_detector_free(d);
}

int main(void) {
    test_status_messages();
    test_bad_arguments();
    test_moving_spot();
    test_stack_masked();
    test_memory_pass();
    test_noise_only_gives_no_event();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("C detector tests passed\n");
    return 0;
}
