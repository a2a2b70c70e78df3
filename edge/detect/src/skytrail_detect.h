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
    ST_ERR_EMPTY = 5      /* a result was asked of a stack with fewer than 2 frames */
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

#ifdef __cplusplus
}
#endif
#endif
