/* libnl_py._codec's message maker: a receive batch's messages as GenlMessage objects.
 *
 * libnl_py.message.GenlMessage is a Python class; where this module is built, its base
 * is the Message type below, whose fields are the class's slots, so that messages()
 * can make a batch's messages without running Python code per message. The reference
 * is libnl_py.bindings.genl.messages, which makes each with GenlMessage(...): the
 * tests compare the two on every kind of descriptor table.
 *
 * Like the rest of the module it takes buffers, never addresses, and is called with
 * the GIL held.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#include "words.h"

#define HEADERS 20    /* NLMSG_HDRLEN + GENL_HDRLEN */

typedef struct {
    PyObject_HEAD
    PyObject *data, *family_id, *flags, *seq, *port, *cmd, *version, *attrs_at, *attrs;
} Message;

#define FIELDS(X) \
    X(data) X(family_id) X(flags) X(seq) X(port) X(cmd) X(version) X(attrs_at) X(attrs)

static int Message_traverse(Message *self, visitproc visit, void *arg)
{
#define VISIT(f) Py_VISIT(self->f);
    FIELDS(VISIT)
#undef VISIT
    return 0;
}

static int Message_clear(Message *self)
{
#define CLEAR(f) Py_CLEAR(self->f);
    FIELDS(CLEAR)
#undef CLEAR
    return 0;
}

static void Message_dealloc(Message *self)
{
    /* A Python subclass's instance comes here from subtype_dealloc, which drops the
     * reference to its type itself. */
    PyObject_GC_UnTrack(self);
    Message_clear(self);
    Py_TYPE(self)->tp_free((PyObject *) self);
}

/* The names are GenlMessage's slots: its Python __init__ sets them as it would its own. */
static PyMemberDef Message_members[] = {
    {"_data", T_OBJECT_EX, offsetof(Message, data), 0, NULL},
    {"family_id", T_OBJECT_EX, offsetof(Message, family_id), 0, NULL},
    {"flags", T_OBJECT_EX, offsetof(Message, flags), 0, NULL},
    {"seq", T_OBJECT_EX, offsetof(Message, seq), 0, NULL},
    {"port", T_OBJECT_EX, offsetof(Message, port), 0, NULL},
    {"cmd", T_OBJECT_EX, offsetof(Message, cmd), 0, NULL},
    {"version", T_OBJECT_EX, offsetof(Message, version), 0, NULL},
    {"_attrs_at", T_OBJECT_EX, offsetof(Message, attrs_at), 0, NULL},
    {"_attrs", T_OBJECT_EX, offsetof(Message, attrs), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject MessageType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "libnl_py._codec.Message",
    .tp_basicsize = sizeof(Message),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The slots of libnl_py.message.GenlMessage, for messages() to fill.",
    .tp_traverse = (traverseproc) Message_traverse,
    .tp_clear = (inquiry) Message_clear,
    .tp_dealloc = (destructor) Message_dealloc,
    .tp_members = Message_members,
    .tp_new = PyType_GenericNew,
};

static PyObject *hdrsize_name;

/* A header size as a Py_ssize_t: one too large for any message is PY_SSIZE_T_MAX (every
 * message is too short for it); a negative one, or no int, is -1 with an exception. */
static Py_ssize_t size_of(PyObject *value)
{
    Py_ssize_t n;

    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "hdrsize must be an int, not %.100s",
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    n = PyLong_AsSsize_t(value);
    if (n == -1 && PyErr_Occurred()) {
        PyObject *zero;
        int negative;

        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        zero = PyLong_FromLong(0);
        negative = zero == NULL ? -1 : PyObject_RichCompareBool(value, zero, Py_LT);
        Py_XDECREF(zero);
        if (negative < 0)
            return -1;
        if (!negative)
            return PY_SSIZE_T_MAX;
        n = -1;
    }
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "hdrsize out of range");
        return -1;
    }
    return n;
}

/* The fixed header size of family_id's messages, from the dict hdrsizes: its entry's
 * hdrsize, 0 for a family it lacks (or holds None for). -1 with an exception. */
static Py_ssize_t hdrsize_of(PyObject *hdrsizes, PyObject *family_id)
{
    PyObject *family, *size;
    Py_ssize_t n;

    family = PyDict_GetItemWithError(hdrsizes, family_id);
    if (family == NULL)
        return PyErr_Occurred() ? -1 : 0;
    if (family == Py_None)
        return 0;
    Py_INCREF(family);
    size = PyObject_GetAttr(family, hdrsize_name);
    Py_DECREF(family);
    if (size == NULL)
        return -1;
    n = size_of(size);
    Py_DECREF(size);
    return n;
}

/* One message of len bytes at buf, its header fields from the descriptor. */
static PyObject *make(PyTypeObject *cls, const uint8_t *buf, Py_ssize_t len,
                      PyObject *family_id, const unsigned long *d, Py_ssize_t hdrsize)
{
    Message *m = (Message *) cls->tp_alloc(cls, 0);

    if (m == NULL)
        return NULL;
    Py_INCREF(family_id);
    m->family_id = family_id; /* the descriptor's int, or one made for it */
    m->data = PyBytes_FromStringAndSize((const char *) buf, len);
    m->flags = PyLong_FromUnsignedLong(d[2]);
    m->seq = PyLong_FromUnsignedLong(d[3]);
    m->port = PyLong_FromUnsignedLong(d[4]);
    m->cmd = PyLong_FromLong(buf[16]);
    m->version = PyLong_FromLong(buf[17]);
    m->attrs_at = PyLong_FromSsize_t(HEADERS + hdrsize);
    Py_INCREF(Py_None);
    m->attrs = Py_None;
    if (!m->data || !m->flags || !m->seq || !m->port || !m->cmd || !m->version || !m->attrs_at) {
        Py_DECREF(m);
        return NULL;
    }
    return (PyObject *) m;
}

/* messages(view, desc, kind, cls, hdrsizes, out, passing) -> (rest, flags)
 *
 * The messages of a receive batch (view, and its descriptor words desc: a list of ints
 * or a buffer of uint32 words) whose descriptor is of kind, made instances of cls
 * (GenlMessage, a subclass of Message adding no slots) and appended to out, in order.
 * hdrsizes is the family header size of them all, or a dict of family id -> something
 * with a hdrsize (a family it lacks, or holds None for, has none). passing is a mask of
 * the kinds (1 << kind) whose descriptors the walk steps over, into rest; at one of any
 * other kind, or a message of kind too short for its headers, it stops: that descriptor
 * and every one after it come back in rest (a list), so that what the caller routes
 * stays in the order it came. flags is the OR of the made messages' nlmsg_flags. A span
 * outside view raises ValueError. */
static PyObject *messages(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *out, *hdrsizes, *rest = NULL;
    Words words;
    PyTypeObject *cls;
    Py_ssize_t i, n, k, fixed = -1;
    unsigned long kind, passing, flags_or = 0;
    Py_buffer view;

    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "messages() takes 7 arguments");
        return NULL;
    }
    cls = (PyTypeObject *) args[3];
    hdrsizes = args[4];
    out = args[5];
    if (!PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "messages() needs an out list");
        return NULL;
    }
    if (!PyType_Check(args[3]) || !PyType_IsSubtype(cls, &MessageType)
        || cls->tp_basicsize != MessageType.tp_basicsize || cls->tp_dictoffset) {
        PyErr_SetString(PyExc_TypeError, "messages() makes subclasses of Message with no slots");
        return NULL;
    }
    if (PyLong_Check(hdrsizes)) {
        if ((fixed = size_of(hdrsizes)) < 0)
            return NULL;
    } else if (!PyDict_Check(hdrsizes)) {
        PyErr_SetString(PyExc_TypeError, "hdrsizes is an int or a dict");
        return NULL;
    }
    kind = PyLong_AsUnsignedLong(args[2]);
    if (kind == (unsigned long) -1 && PyErr_Occurred())
        return NULL;
    passing = PyLong_AsUnsignedLong(args[6]);
    if (passing == (unsigned long) -1 && PyErr_Occurred())
        return NULL;
    /* A list is copied: a hdrsize lookup may run Python code, which could change it. */
    if (words_open(&words, args[1]) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        words_close(&words);
        return NULL;
    }
    if ((rest = PyList_New(0)) == NULL)
        goto fail;
    n = words.n / DESC_WORDS;
    for (i = 0; i < n; i++) {
        unsigned long d[DESC_WORDS];
        Py_ssize_t hdrsize = fixed;
        PyObject *msg, *family_id;
        unsigned long len;

        for (k = 0; k < DESC_WORDS; k++)
            if (words_get(&words, i * DESC_WORDS + k, &d[k]) < 0)
                goto fail;
        if (d[0] != kind) {
            if (d[0] < 8 * sizeof passing && (passing >> d[0]) & 1) {
                if (words_append(&words, i * DESC_WORDS, (i + 1) * DESC_WORDS, rest) < 0)
                    goto fail;
                continue;
            }
            break;
        }
        if (d[5] > d[6] || d[6] > (unsigned long) view.len) {
            PyErr_SetString(PyExc_ValueError, "descriptor span outside the buffer");
            goto fail;
        }
        if ((family_id = words_item(&words, i * DESC_WORDS + 1)) == NULL)
            goto fail;
        if (hdrsize < 0 && (hdrsize = hdrsize_of(hdrsizes, family_id)) < 0) {
            Py_DECREF(family_id);
            goto fail;
        }
        len = d[6] - d[5];
        if (len < HEADERS || len - HEADERS < (unsigned long) hdrsize) {
            Py_DECREF(family_id);
            break; /* too short: it, and what follows, are routed by the caller */
        }
        msg = make(cls, (const uint8_t *) view.buf + d[5], (Py_ssize_t) len, family_id, d,
                   hdrsize);
        Py_DECREF(family_id);
        if (msg == NULL || PyList_Append(out, msg) < 0) {
            Py_XDECREF(msg);
            goto fail;
        }
        Py_DECREF(msg);
        flags_or |= d[2];
    }
    if (words_append(&words, i * DESC_WORDS, n * DESC_WORDS, rest) < 0)
        goto fail;
    PyBuffer_Release(&view);
    words_close(&words);
    return Py_BuildValue("Nk", rest, flags_or);
fail:
    PyBuffer_Release(&view);
    words_close(&words);
    Py_XDECREF(rest);
    return NULL;
}

static PyMethodDef message_functions[] = {
    {"messages", (PyCFunction) (void (*)(void)) messages, METH_FASTCALL,
     "messages(view, desc, kind, cls, hdrsizes, out, passing) -> (rest, flags): a batch's"
     " messages of kind, made cls instances."},
    {NULL, NULL, 0, NULL},
};

/* Adds Message and messages() to the module (called by codec.c's module init). */
int messages_add(PyObject *module)
{
    if (hdrsize_name == NULL && (hdrsize_name = PyUnicode_InternFromString("hdrsize")) == NULL)
        return -1;
    if (PyType_Ready(&MessageType) < 0)
        return -1;
    Py_INCREF(&MessageType);
    if (PyModule_AddObject(module, "Message", (PyObject *) &MessageType) < 0) {
        Py_DECREF(&MessageType);
        return -1;
    }
    return PyModule_AddFunctions(module, message_functions);
}
