/* _cdetect.c: the thin CPython binding of the C detection core. It only converts
 * buffers and status codes; validation of shapes happens in the Python modules of edge/detect, and is
 * checked again here because C must never trust its caller. The GIL is released
 * while C works on pixels. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "skytrail_detect.h"

static PyObject *raise_status(int status) {
    PyErr_Format(PyExc_ValueError, "skytrail detect: %s (status %d)", st_status_message(status), status);
    return NULL;
}

typedef struct {
    PyObject_HEAD
    st_stack *stack;
    int width, height;
} StackObject;

static int Stack_init(StackObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"width", "height", NULL};
    int width, height;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "ii", kwlist, &width, &height)) return -1;
    st_stack_free(self->stack);
    self->stack = NULL;
    int status = st_stack_new(width, height, &self->stack);
    if (status != ST_OK) {
        raise_status(status);
        return -1;
    }
    self->width = width;
    self->height = height;
    return 0;
}

static void Stack_dealloc(StackObject *self) {
    st_stack_free(self->stack);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Get a 2-D uint8-compatible buffer with unit column stride and the stack's shape. */
static int get_frame(StackObject *self, PyObject *obj, Py_buffer *view) {
    if (PyObject_GetBuffer(obj, view, PyBUF_STRIDES | PyBUF_FORMAT) != 0) return -1;
    const char *fmt = view->format ? view->format : "B";
    if (view->ndim != 2 || view->itemsize != 1 || (fmt[0] != 'B' && !(fmt[0] == '=' && fmt[1] == 'B'))) {
        PyErr_SetString(PyExc_ValueError, "frame must be a 2-D uint8 array");
    } else if (view->shape[0] != self->height || view->shape[1] != self->width) {
        PyErr_Format(PyExc_ValueError, "frame shape (%zd, %zd) differs from the stack's (%d, %d)",
                     view->shape[0], view->shape[1], self->height, self->width);
    } else if (view->strides[1] != 1 || view->strides[0] < self->width) {
        PyErr_SetString(PyExc_ValueError, "frame rows must be contiguous (column stride 1)");
    } else {
        return 0;
    }
    PyBuffer_Release(view);
    return -1;
}

static PyObject *Stack_add(StackObject *self, PyObject *frame) {
    Py_buffer view;
    if (get_frame(self, frame, &view) != 0) return NULL;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = st_stack_add(self->stack, (const uint8_t *)view.buf, view.strides[0]);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (status != ST_OK) return raise_status(status);
    Py_RETURN_NONE;
}

/* Writable, C-contiguous output buffer of width*height items of `itemsize` bytes. */
static int get_output(StackObject *self, PyObject *obj, Py_buffer *view, Py_ssize_t itemsize,
                      const char *name) {
    if (obj == Py_None) {
        view->buf = NULL;
        view->obj = NULL;
        return 0;
    }
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0) return -1;
    if (view->itemsize != itemsize || view->len != (Py_ssize_t)self->width * self->height * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: wrong size or item type for a %d x %d image", name,
                     self->width, self->height);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *Stack_result(StackObject *self, PyObject *args) {
    PyObject *objs[4];
    if (!PyArg_ParseTuple(args, "OOOO", &objs[0], &objs[1], &objs[2], &objs[3])) return NULL;
    static const Py_ssize_t sizes[4] = {1, 2, 4, 4};
    static const char *names[4] = {"max_pixel", "max_frame", "mean", "std"};
    Py_buffer views[4];
    int got = 0;
    for (; got < 4; got++) {
        if (get_output(self, objs[got], &views[got], sizes[got], names[got]) != 0) break;
    }
    int status = ST_OK;
    if (got == 4) {
        Py_BEGIN_ALLOW_THREADS
        status = st_stack_result(self->stack, views[0].buf, views[1].buf, views[2].buf, views[3].buf);
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < got; i++)
        if (views[i].obj) PyBuffer_Release(&views[i]);
    if (got != 4) return NULL;
    if (status != ST_OK) return raise_status(status);
    Py_RETURN_NONE;
}

static PyObject *Stack_reset(StackObject *self, PyObject *Py_UNUSED(ignored)) {
    int status = st_stack_reset(self->stack);
    if (status != ST_OK) return raise_status(status);
    Py_RETURN_NONE;
}

static PyObject *Stack_count(StackObject *self, void *Py_UNUSED(closure)) {
    return PyLong_FromLong(st_stack_count(self->stack));
}

static PyMethodDef Stack_methods[] = {
    {"add", (PyCFunction)Stack_add, METH_O, "add(frame): add one 2-D uint8 frame"},
    {"result", (PyCFunction)Stack_result, METH_VARARGS,
     "result(max_pixel, max_frame, mean, std): fill caller-owned arrays (None skips one)"},
    {"reset", (PyCFunction)Stack_reset, METH_NOARGS, "forget all frames"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Stack_getset[] = {
    {"count", (getter)Stack_count, NULL, "frames added", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StackType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "edge.detect._cdetect.Stack",
    .tp_basicsize = sizeof(StackObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Stack(width, height): running max / frame-of-max / mean / std of 8-bit frames",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Stack_init,
    .tp_dealloc = (destructor)Stack_dealloc,
    .tp_methods = Stack_methods,
    .tp_getset = Stack_getset,
};

/* ---------------------------------------------------------------- Detector */

typedef struct {
    PyObject_HEAD
    st_detector *det;
    int width, height;
} DetectorObject;

/* Config fields settable from Python, by name. */
#define CFG_F(name) {#name, 'f', offsetof(st_config, name)}
#define CFG_I(name) {#name, 'i', offsetof(st_config, name)}
static const struct {
    const char *name;
    char type;
    size_t offset;
} config_fields[] = {
    CFG_F(k_sigma), CFG_F(k_sigma_low), CFG_F(min_sigma_adu), CFG_F(background_tau_frames),
    CFG_I(background_every), CFG_I(warmup_frames), CFG_I(min_frames), CFG_I(max_gap_frames),
    CFG_I(margin_frames), CFG_I(max_event_frames), CFG_I(clip_max_frames),
    CFG_F(min_speed_px_per_frame), CFG_F(slow_speed_px_per_frame), CFG_F(max_speed_px_per_frame),
    CFG_F(min_travel_px), CFG_F(gate_px), CFG_F(max_line_rms_px), CFG_F(min_track_snr),
    CFG_F(max_width_px), CFG_I(crop_margin_px),
    CFG_I(static_hits), CFG_I(max_tracks), CFG_I(max_components), CFG_I(max_seed_pixels),
    CFG_I(max_component_pixels), CFG_I(max_track_pixels),
};
#define N_CONFIG_FIELDS (sizeof config_fields / sizeof config_fields[0])

static int config_from_dict(PyObject *dict, st_config *cfg) {
    st_config_default(cfg);
    if (dict == NULL || dict == Py_None) return 0;
    if (!PyDict_Check(dict)) {
        PyErr_SetString(PyExc_TypeError, "config must be a dict of detector settings");
        return -1;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!name) {
            PyErr_SetString(PyExc_TypeError, "config keys must be strings");
            return -1;
        }
        size_t i = 0;
        while (i < N_CONFIG_FIELDS && strcmp(config_fields[i].name, name) != 0) i++;
        if (i == N_CONFIG_FIELDS) {
            PyErr_Format(PyExc_ValueError, "unknown detector setting '%s'", name);
            return -1;
        }
        char *field = (char *)cfg + config_fields[i].offset;
        if (config_fields[i].type == 'f') {
            double v = PyFloat_AsDouble(value);
            if (v == -1.0 && PyErr_Occurred()) return -1;
            *(float *)field = (float)v;
        } else {
            long v = PyLong_AsLong(value);
            if (v == -1 && PyErr_Occurred()) return -1;
            if (v < INT_MIN || v > INT_MAX) {
                PyErr_Format(PyExc_ValueError, "detector setting '%s' out of range", name);
                return -1;
            }
            *(int *)field = (int)v;
        }
    }
    return 0;
}

static int check_2d_u8(PyObject *obj, Py_buffer *view, int width, int height, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_STRIDES | PyBUF_FORMAT) != 0) return -1;
    const char *fmt = view->format ? view->format : "B";
    int fmt_ok = (fmt[0] == 'B' || fmt[0] == '?') && fmt[1] == 0;
    fmt_ok = fmt_ok || ((fmt[0] == '=' || fmt[0] == '<' || fmt[0] == '>' || fmt[0] == '@') &&
                        (fmt[1] == 'B' || fmt[1] == '?') && fmt[2] == 0);
    if (view->ndim != 2 || view->itemsize != 1 || !fmt_ok) {
        PyErr_Format(PyExc_ValueError, "%s must be a 2-D uint8 array", what);
    } else if (view->shape[0] != height || view->shape[1] != width) {
        PyErr_Format(PyExc_ValueError, "%s shape (%zd, %zd) differs from the detector's (%d, %d)", what,
                     view->shape[0], view->shape[1], height, width);
    } else if (view->strides[1] != 1 || view->strides[0] < width) {
        PyErr_Format(PyExc_ValueError, "%s rows must be contiguous (column stride 1, row stride >= width)",
                     what);
    } else {
        return 0;
    }
    PyBuffer_Release(view);
    return -1;
}

static int Detector_init(DetectorObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"width", "height", "config", "sky_mask", NULL};
    int width, height;
    PyObject *config = Py_None, *mask = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "ii|OO", kwlist, &width, &height, &config, &mask))
        return -1;
    st_config cfg;
    if (config_from_dict(config, &cfg) != 0) return -1;
    st_detector_free(self->det);
    self->det = NULL;
    Py_buffer view = {0};
    const uint8_t *mask_buf = NULL;
    ptrdiff_t mask_stride = 0;
    if (mask != Py_None) {
        if (width < 1 || height < 1) return raise_status(ST_ERR_SIZE), -1;
        if (check_2d_u8(mask, &view, width, height, "sky_mask") != 0) return -1;
        mask_buf = view.buf;
        mask_stride = view.strides[0];
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = st_detector_new(width, height, &cfg, mask_buf, mask_stride, &self->det);
    Py_END_ALLOW_THREADS
    if (mask_buf) PyBuffer_Release(&view);
    if (status != ST_OK) {
        raise_status(status);
        return -1;
    }
    self->width = width;
    self->height = height;
    return 0;
}

static void Detector_dealloc(DetectorObject *self) {
    st_detector_free(self->det);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int detector_ready(DetectorObject *self) {
    if (self->det) return 0;
    PyErr_SetString(PyExc_RuntimeError, "detector not initialised");
    return -1;
}

static PyObject *Detector_process(DetectorObject *self, PyObject *args) {
    PyObject *frame;
    double t_unix;
    long long frame_index;
    if (!PyArg_ParseTuple(args, "OdL", &frame, &t_unix, &frame_index)) return NULL;
    if (detector_ready(self) != 0) return NULL;
    Py_buffer view;
    if (check_2d_u8(frame, &view, self->width, self->height, "frame") != 0) return NULL;
    int status, n = 0;
    Py_BEGIN_ALLOW_THREADS
    status = st_detector_process(self->det, view.buf, view.strides[0], (int64_t)frame_index, t_unix, &n);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (status != ST_OK) return raise_status(status);
    return PyLong_FromLong(n);
}

static PyObject *Detector_flush(DetectorObject *self, PyObject *Py_UNUSED(ignored)) {
    if (detector_ready(self) != 0) return NULL;
    int n = 0, status = st_detector_flush(self->det, &n);
    if (status != ST_OK) return raise_status(status);
    return PyLong_FromLong(n);
}

static PyObject *Detector_event_info(DetectorObject *self, PyObject *args) {
    int k;
    if (!PyArg_ParseTuple(args, "i", &k)) return NULL;
    if (detector_ready(self) != 0) return NULL;
    st_event_info info;
    int status = st_detector_event_info(self->det, k, &info);
    if (status != ST_OK) return raise_status(status);
    return Py_BuildValue("{s:i,s:i,s:i,s:i,s:i,s:i,s:d,s:s,s:O,s:d,s:d}", "n_detections", info.n_detections,
                         "n_clip", info.n_clip, "clip_x0", info.clip_x0, "clip_y0", info.clip_y0,
                         "clip_width", info.clip_width, "clip_height", info.clip_height,
                         "speed_px_per_frame", info.speed_px_per_frame, "kind",
                         info.kind == ST_KIND_SLOW ? "slow" : "fast", "mask_truncated",
                         info.mask_truncated ? Py_True : Py_False, "snr", info.snr, "width_px",
                         info.width_px);
}

/* event_read(k, frame_index, t_unix, x_px, y_px, flux_adu, bbox, n_pixels, clip,
 * clip_frame_index, clip_t_unix, max_pixel, max_frame, mean, std, mask): every
 * argument a writable C-contiguous buffer of exactly the size event_info implies. */
static PyObject *Detector_event_read(DetectorObject *self, PyObject *args) {
    enum { NB = 15 };
    int k;
    PyObject *objs[NB];
    if (!PyArg_ParseTuple(args, "iOOOOOOOOOOOOOOO", &k, &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &objs[6], &objs[7], &objs[8], &objs[9], &objs[10], &objs[11], &objs[12],
                          &objs[13], &objs[14]))
        return NULL;
    if (detector_ready(self) != 0) return NULL;
    st_event_info info;
    int status = st_detector_event_info(self->det, k, &info);
    if (status != ST_OK) return raise_status(status);
    const Py_ssize_t N = info.n_detections, M = info.n_clip;
    const Py_ssize_t HW = (Py_ssize_t)self->width * self->height;
    const Py_ssize_t clip = M * info.clip_width * info.clip_height;
    static const char *names[NB] = {"frame_index", "t_unix", "x_px", "y_px", "flux_adu", "bbox", "n_pixels",
                                    "clip", "clip_frame_index", "clip_t_unix", "max_pixel", "max_frame",
                                    "mean", "std", "mask"};
    const Py_ssize_t items[NB] = {N, N, N, N, N, 4 * N, N, clip, M, M, HW, HW, HW, HW, HW};
    const Py_ssize_t sizes[NB] = {8, 8, 8, 8, 8, 4, 4, 1, 8, 8, 1, 2, 4, 4, 1};
    Py_buffer views[NB];
    int got = 0;
    for (; got < NB; got++) {
        if (PyObject_GetBuffer(objs[got], &views[got], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0) break;
        if (views[got].itemsize != sizes[got] || views[got].len != items[got] * sizes[got]) {
            PyErr_Format(PyExc_ValueError, "event_read: %s has the wrong size or item type", names[got]);
            PyBuffer_Release(&views[got]);
            break;
        }
    }
    if (got == NB) {
        st_event_out out = {
            .frame_index = views[0].buf, .t_unix = views[1].buf, .x_px = views[2].buf, .y_px = views[3].buf,
            .flux_adu = views[4].buf, .bbox = views[5].buf, .n_pixels = views[6].buf, .clip = views[7].buf,
            .clip_frame_index = views[8].buf, .clip_t_unix = views[9].buf, .max_pixel = views[10].buf,
            .max_frame = views[11].buf, .mean = views[12].buf, .std = views[13].buf, .mask = views[14].buf,
        };
        Py_BEGIN_ALLOW_THREADS
        status = st_detector_event_read(self->det, k, &out);
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    if (got != NB) return NULL;
    if (status != ST_OK) return raise_status(status);
    Py_RETURN_NONE;
}

static PyObject *Detector_stats(DetectorObject *self, PyObject *Py_UNUSED(ignored)) {
    if (detector_ready(self) != 0) return NULL;
    st_detector_stats s;
    int status = st_detector_get_stats(self->det, &s);
    if (status != ST_OK) return raise_status(status);
    return Py_BuildValue("{s:L,s:L,s:i,s:i}", "frames", (long long)s.frames, "skipped_frames",
                         (long long)s.skipped_frames, "active_tracks", s.active_tracks, "components_last",
                         s.components_last);
}

static PyObject *Detector_memory_bytes(DetectorObject *self, void *Py_UNUSED(closure)) {
    return PyLong_FromSize_t(st_detector_memory_bytes(self->det));
}

static PyMethodDef Detector_methods[] = {
    {"process", (PyCFunction)Detector_process, METH_VARARGS,
     "process(frame, t_unix, frame_index) -> number of events ended with this frame"},
    {"flush", (PyCFunction)Detector_flush, METH_NOARGS, "flush() -> number of events closed"},
    {"event_info", (PyCFunction)Detector_event_info, METH_VARARGS, "event_info(k) -> dict of sizes and fields"},
    {"event_read", (PyCFunction)Detector_event_read, METH_VARARGS, "event_read(k, 15 output arrays)"},
    {"stats", (PyCFunction)Detector_stats, METH_NOARGS, "stats() -> dict of counters"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Detector_getset[] = {
    {"memory_bytes", (getter)Detector_memory_bytes, NULL, "bytes allocated (fixed)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DetectorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "edge.detect._cdetect.Detector",
    .tp_basicsize = sizeof(DetectorObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Detector(width, height, config=None, sky_mask=None): one camera's C detector",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Detector_init,
    .tp_dealloc = (destructor)Detector_dealloc,
    .tp_methods = Detector_methods,
    .tp_getset = Detector_getset,
};

/* memory_pass(mean, frame): the memory-bound floor (float32 running mean of every pixel). */
static PyObject *memory_pass(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *mean_obj, *frame_obj;
    if (!PyArg_ParseTuple(args, "OO", &mean_obj, &frame_obj)) return NULL;
    Py_buffer mean, frame;
    if (PyObject_GetBuffer(mean_obj, &mean, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_ND) != 0) return NULL;
    if (mean.ndim != 2 || mean.itemsize != 4) {
        PyBuffer_Release(&mean);
        PyErr_SetString(PyExc_ValueError, "mean must be a 2-D float32 array");
        return NULL;
    }
    int h = (int)mean.shape[0], w = (int)mean.shape[1];
    if (check_2d_u8(frame_obj, &frame, w, h, "frame") != 0) {
        PyBuffer_Release(&mean);
        return NULL;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = st_memory_pass(mean.buf, frame.buf, frame.strides[0], w, h);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&frame);
    PyBuffer_Release(&mean);
    if (status != ST_OK) return raise_status(status);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"memory_pass", memory_pass, METH_VARARGS, "memory_pass(mean, frame): float32 running mean update"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cdetect", "Binding of Skytrail's C detection core.", -1, module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cdetect(void) {
    if (PyType_Ready(&StackType) < 0 || PyType_Ready(&DetectorType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&StackType);
    if (PyModule_AddObject(m, "Stack", (PyObject *)&StackType) < 0) {
        Py_DECREF(&StackType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&DetectorType);
    if (PyModule_AddObject(m, "Detector", (PyObject *)&DetectorType) < 0) {
        Py_DECREF(&DetectorType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
