/* fuzz_detector.c: libFuzzer target for the frame-feeding API. The input chooses a frame
 * size, row stride, configuration knobs and then a sequence of calls (process with frame
 * contents from the input, out-of-order indices and times, flush, event reads). Any crash,
 * sanitizer report or leak is a bug. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "skytrail_detect.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} input_t;

static unsigned take(input_t *in) {
    if (in->n == 0) return 0;
    in->n--;
    return *in->p++;
}

static void read_events(st_detector *d, int n, int w, int h) {
    for (int k = 0; k < n; k++) {
        st_event_info info;
        if (st_detector_event_info(d, k, &info) != ST_OK) abort();
        size_t N = (size_t)info.n_detections, M = (size_t)info.n_clip, HW = (size_t)w * (size_t)h;
        st_event_out out = {
            .frame_index = malloc(8 * N), .t_unix = malloc(8 * N), .x_px = malloc(8 * N),
            .y_px = malloc(8 * N), .flux_adu = malloc(8 * N), .bbox = malloc(16 * N),
            .n_pixels = malloc(4 * N), .clip = malloc(M * (size_t)info.clip_width * (size_t)info.clip_height + 1),
            .clip_frame_index = malloc(8 * M + 8), .clip_t_unix = malloc(8 * M + 8), .max_pixel = malloc(HW),
            .max_frame = malloc(2 * HW), .mean = malloc(4 * HW), .std = malloc(4 * HW), .mask = malloc(HW),
        };
        int status = st_detector_event_read(d, k, &out);
        if (status != ST_OK) abort();
        for (size_t i = 0; i < N; i++)
            if (out.bbox[4 * i] < 0 || out.bbox[4 * i + 2] >= w || out.bbox[4 * i + 1] < 0 ||
                out.bbox[4 * i + 3] >= h || !isfinite(out.x_px[i]))
                abort();
        free(out.frame_index), free(out.t_unix), free(out.x_px), free(out.y_px), free(out.flux_adu);
        free(out.bbox), free(out.n_pixels), free(out.clip), free(out.clip_frame_index);
        free(out.clip_t_unix), free(out.max_pixel), free(out.max_frame), free(out.mean), free(out.std);
        free(out.mask);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    input_t in = {data, size};
    int w = 1 + (int)(take(&in) % 48), h = 1 + (int)(take(&in) % 40);
    ptrdiff_t stride = w + (ptrdiff_t)(take(&in) % 9);
    st_config c;
    st_config_default(&c);
    c.warmup_frames = 1 + (int)(take(&in) % 4);
    c.background_every = 1 + (int)(take(&in) % 4);
    c.k_sigma = 1.0f + (float)(take(&in) % 8);
    c.k_sigma_low = c.k_sigma * (float)(take(&in) % 4) / 4.0f;
    c.min_sigma_adu = (float)(take(&in) % 3);
    c.margin_frames = (int)(take(&in) % 4);
    c.max_gap_frames = (int)(take(&in) % 3);
    c.min_frames = 1 + (int)(take(&in) % 3);
    c.max_event_frames = c.min_frames + (int)(take(&in) % 20);
    c.clip_max_frames = 1 + (int)(take(&in) % 8);
    c.max_tracks = 1 + (int)(take(&in) % 8);
    c.max_components = 1 + (int)(take(&in) % 16);
    c.max_track_pixels = 1 + (int)(take(&in) % 64);
    c.min_speed_px_per_frame = (float)(take(&in) % 3) * 0.1f;
    c.min_travel_px = (float)(take(&in) % 4);
    c.crop_margin_px = (int)(take(&in) % 5);
    c.max_seed_pixels = (int)(take(&in) % 50);
    c.max_component_pixels = (int)(take(&in) % 50);
    uint8_t *mask = NULL;
    if (take(&in) & 1) {
        mask = malloc((size_t)w * (size_t)h);
        for (int i = 0; i < w * h; i++) mask[i] = (uint8_t)(take(&in) & 1);
    }
    st_detector *d = NULL;
    int status = st_detector_new(w, h, &c, mask, w, &d);
    free(mask);
    if (status != ST_OK) return 0;
    uint8_t *frame = malloc((size_t)stride * (size_t)h);
    int64_t index = 0;
    double t = 100.0;
    while (in.n > 0) {
        unsigned op = take(&in);
        int n = 0;
        if (op < 200) { /* a frame: pattern + fuzzed pixels */
            unsigned base = take(&in), spot = take(&in);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < stride; x++) frame[y * stride + x] = (uint8_t)(base + (x * 7 + y * 13) % 5);
            int sx = (int)(spot % (unsigned)w), sy = (int)((op + index) % (unsigned)h);
            frame[sy * stride + sx] = (uint8_t)take(&in);
            size_t copy = (size_t)(take(&in) % 8);
            for (size_t i = 0; i < copy; i++) frame[(take(&in) * 131u) % (unsigned)(stride * h)] = (uint8_t)take(&in);
            index += 1 + (op % 3 == 0 ? (int)(take(&in) % 4) : 0);
            t += 0.04;
            status = st_detector_process(d, frame, stride, index, t, &n);
            if (status != ST_OK) abort();
            read_events(d, n, w, h);
        } else if (op < 215 && index > 0) { /* out of order: must fail and change nothing */
            if (st_detector_process(d, frame, stride, index, t + 1, &n) != ST_ERR_INDEX) abort();
            if (st_detector_process(d, frame, stride, index + 1, t, &n) != ST_ERR_TIME) abort();
            if (st_detector_process(d, frame, stride, index + 1, NAN, &n) != ST_ERR_TIME) abort();
        } else if (op >= 215 && op < 225) {
            if (st_detector_flush(d, &n) != ST_OK) abort();
            read_events(d, n, w, h);
        } else if (op >= 225 && op < 235) {
            st_event_info info;
            if (st_detector_event_info(d, (int)(take(&in) % 5) - 1, &info) == ST_OK) read_events(d, 1, w, h);
        } else if (op >= 235) {
            st_detector_stats s;
            if (st_detector_get_stats(d, &s) != ST_OK) abort();
        }
    }
    free(frame);
    st_detector_free(d);
    return 0;
}
