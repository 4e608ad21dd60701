/* A receive batch's descriptor words, as libnl_py._codec's functions take them: a list
 * of ints, or a buffer of native uint32 words (the batch's descriptor table itself, as
 * libnl_py.bindings.genl hands it out, with no int made per word).
 *
 * Included by codec.c and messages.c; each function is static to its file.
 */
#ifndef LNP_WORDS_H
#define LNP_WORDS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define DESC_WORDS 8 /* decl/helpers.c's LNP_DESC_WORDS: kind, type, flags, seq, port, start,
                        end, error */

typedef struct {
    PyObject *items;  /* a list's words, copied: Python code run meanwhile may change it */
    Py_buffer buf;    /* or the buffer's */
    int is_buffer;
    Py_ssize_t n;     /* words */
} Words;

static void words_close(Words *w)
{
    if (w->is_buffer)
        PyBuffer_Release(&w->buf);
    else
        Py_CLEAR(w->items);
    w->is_buffer = 0;
    w->n = 0;
}

static int words_whole(Words *w)
{
    if (w->n % DESC_WORDS == 0)
        return 0;
    words_close(w);
    PyErr_SetString(PyExc_ValueError, "desc must be whole descriptors");
    return -1;
}

/* 0, or -1 with an exception: desc is neither a list nor a buffer of uint32 words, or
 * holds no whole number of descriptors. */
static int words_open(Words *w, PyObject *desc)
{
    w->items = NULL;
    w->is_buffer = 0;
    w->n = 0;
    if (PyList_Check(desc)) {
        if ((w->items = PyList_AsTuple(desc)) == NULL)
            return -1;
        w->n = PyTuple_GET_SIZE(w->items);
        return words_whole(w);
    }
    if (PyObject_GetBuffer(desc, &w->buf, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    w->is_buffer = 1;
    if (w->buf.ndim != 1 || w->buf.itemsize != 4 || w->buf.format == NULL
        || (strcmp(w->buf.format, "I") && strcmp(w->buf.format, "=I")
            && strcmp(w->buf.format, "@I"))) {
        words_close(w);
        PyErr_SetString(PyExc_TypeError,
                        "descriptors are a list of ints or a 1-dimensional buffer of uint32"
                        " (format 'I')");
        return -1;
    }
    w->n = w->buf.len / 4;
    return words_whole(w);
}

/* Word j (< w->n) into *out: 0, or -1 with an exception (a list item no uint32). */
static inline int words_get(const Words *w, Py_ssize_t j, unsigned long *out)
{
    if (w->is_buffer) {
        uint32_t v;

        memcpy(&v, (const char *) w->buf.buf + 4 * j, 4);
        *out = v;
        return 0;
    }
    *out = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(w->items, j));
    return *out == (unsigned long) -1 && PyErr_Occurred() ? -1 : 0;
}

/* Words [from, to) appended to list as ints: 0 or -1. */
static int words_append(const Words *w, Py_ssize_t from, Py_ssize_t to, PyObject *list)
{
    Py_ssize_t j;

    for (j = from; j < to; j++) {
        PyObject *word;
        int rc;

        if (w->is_buffer) {
            uint32_t v;

            memcpy(&v, (const char *) w->buf.buf + 4 * j, 4);
            if ((word = PyLong_FromUnsignedLong(v)) == NULL)
                return -1;
        } else {
            word = PyTuple_GET_ITEM(w->items, j);
            Py_INCREF(word);
        }
        rc = PyList_Append(list, word);
        Py_DECREF(word);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Word j as an int object (new reference). */
static PyObject *words_item(const Words *w, Py_ssize_t j)
{
    if (w->is_buffer) {
        uint32_t v;

        memcpy(&v, (const char *) w->buf.buf + 4 * j, 4);
        return PyLong_FromUnsignedLong(v);
    }
    Py_INCREF(PyTuple_GET_ITEM(w->items, j));
    return PyTuple_GET_ITEM(w->items, j);
}

#endif
