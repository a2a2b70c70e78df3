/* _cdetect.c: the thin CPython binding of the C detection core. It only converts
 * buffers and status codes; validation of shapes happens in edge/detect/*.py, and is
 * checked again here because C must never trust its caller. The GIL is released
 * while C works on pixels. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

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

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cdetect", "Binding of Skytrail's C detection core.", -1, NULL,
};

PyMODINIT_FUNC PyInit__cdetect(void) {
    if (PyType_Ready(&StackType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&StackType);
    if (PyModule_AddObject(m, "Stack", (PyObject *)&StackType) < 0) {
        Py_DECREF(&StackType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
