/* libnl_py._codec: the C accelerator of libnl_py.spec.codec.
 *
 * The pure-Python codec (libnl_py/spec/codec.py) is the reference. This module
 * walks the same attribute sets, compiled once by the codec into tables, and
 * builds the same Python values (dicts, lists, ints, strings, names of enums
 * and flags) without a Python call per attribute. What it does not do itself
 * (display hints other than ipv4 on a u32, bitfield32, nest-type-value,
 * sub-messages) the table hands back to a Python reader of the codec's, so
 * there is one set of rules; tests/test_codec_accelerator.py proves both agree on
 * every input, errors included.
 *
 * An attribute set's table may instead make a record: an instance of a named tuple
 * class, its fields filled from the set's attributes (libnl_py.genl.family's Family,
 * Operation and MulticastGroup are made so from nlctrl's replies, the Python decoder
 * there being the reference). A record table holds no Python reader and calls no
 * function it is given: what it needs to know (the names of a family's operations) is
 * looked up in dicts it is given. (A malformed message's MalformedAttributesError is
 * made by its Python class, as everywhere here.)
 *
 * It takes buffers (anything with the buffer protocol) and table indexes, never
 * addresses, holds no lock and is called with the GIL held.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "words.h"

/* Entry kinds: what an attribute's payload (or a struct member) becomes. */
enum {
    OP_ABSENT = 0, /* not in the set: decoded under its number, as bytes */
    OP_SKIP,       /* pad or unused: dropped */
    OP_INT,        /* fixed-width or variable-width integer */
    OP_STRING,     /* text up to the first NUL, UTF-8 with escaped bytes */
    OP_FLAG,       /* True */
    OP_BINARY,     /* bytes */
    OP_NEST,       /* a nested attribute set: `index` is its table */
    OP_ARRAY,      /* a C array of fixed-width integers (binary with a sub-type) */
    OP_STRUCT,     /* a struct: `index` is its table */
    OP_INDEXED,    /* indexed-array: `inner` reads each entry */
    OP_PYTHON,     /* the codec's Python reader: obj(data, start, end, depth) */
    OP_LAST
};

/* How a decoded integer is shown. */
enum { MAP_NONE = 0, MAP_ENUM, MAP_FLAGS, MAP_IPV4, MAP_LAST };

/* multi: how a repeated attribute is kept (codec.py's table entries). */
enum { MULTI_ONE = 0, MULTI_LIST = 1, MULTI_NUMBERED = 2 };

#define F_SIGNED 1
#define F_BIG 2 /* big-endian on the wire (else the host's order) */
#define F_VAR 4 /* uint/sint: 1, 2, 4 or 8 bytes, little-endian */

/* Record fields: what fills each field of the named tuple a record table makes. */
enum {
    FIELD_VALUE = 0, /* the first value of the attribute stored under `key`, else `dflt` */
    FIELD_REQUIRED,  /* the same, and a record without that attribute is malformed */
    FIELD_NAME,      /* names[the value of an earlier field] in the names in effect, else None */
    FIELD_LAST
};

#define TYPE_MASK 0x3fff /* ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) */
#define RECORD_FIELDS_MAX 64 /* a record's fields: a bit each in the walk's mask */
#define MAX_DEPTH 32     /* codec.py's _MAX_DEPTH: nests deeper than this are refused */

typedef struct Entry {
    uint8_t op, multi, width, flags, map;
    uint8_t as_tuple;    /* OP_INDEXED in a record table: a tuple of the entries, not a list */
    Py_ssize_t slot;     /* in a record table: the field its value fills (-1: none) */
    Py_ssize_t index;    /* OP_NEST, OP_STRUCT: a table */
    Py_ssize_t offset;   /* struct members: where the member starts */
    Py_ssize_t size;     /* struct members: its size */
    PyObject *key;       /* the name (str) or number (int) it is stored under */
    PyObject *obj;       /* MAP_ENUM/MAP_FLAGS: {value: name}; OP_PYTHON: the reader */
    PyObject *kind;      /* OP_INT, OP_ARRAY: the type's name, for errors */
    struct Entry *inner; /* OP_INDEXED: how each entry is read */
} Entry;

typedef struct {
    uint8_t how;     /* FIELD_* */
    Py_ssize_t from; /* FIELD_NAME: the field whose value is looked up */
    PyObject *key;   /* FIELD_VALUE, FIELD_REQUIRED: the entries' key it takes */
    PyObject *dflt;  /* FIELD_VALUE: the value where the attribute is absent */
    int multi;       /* its attribute is a multi-attr: its values make a tuple */
} Field;

typedef struct {
    int filled, is_struct;
    Py_ssize_t keys_hint; /* the most keys a walk of this set made: new dicts start that big */
    Py_ssize_t n;      /* attribute sets: entries by type, 0..n-1; structs: members */
    Entry *entries;
    PyObject *post;    /* attribute sets: called as post(values, depth) after the walk */
    PyObject *name;    /* structs: the name, for errors */
    Py_ssize_t size;   /* structs: the size */
    /* Record tables: a walk makes an instance of `record` (a named tuple class), not a
     * dict; one field each in `fields`. */
    PyObject *record;
    Field *fields;
    Py_ssize_t nfields;
    uint64_t value_mask;     /* FIELD_VALUE and FIELD_REQUIRED ones, a bit each */
    Py_ssize_t first_name;   /* the first FIELD_NAME one (nfields: none) */
    int multi;               /* a field's attribute is a multi-attr */
    /* Names for FIELD_NAME, where the walk is not given them: names_cache[the text of
     * this set's first attribute names_number], a {value: name} dict. */
    PyObject *names_cache;
    Py_ssize_t names_number;
} Table;

typedef struct {
    PyObject_HEAD
    /* Each table allocated alone, so it never moves: a walk keeps its Table * across the
     * Python calls (readers, post) that may add tables. */
    Table **tables;
    Py_ssize_t ntables, cap;
    PyObject *error;   /* MalformedAttributesError(message, offset) */
    PyObject *repeats; /* codec._Repeats: the values of a number that came more than once */
    int saw_unknown;
    unsigned long long unknowns; /* attributes met that their set lacks, ever (never reset) */
    unsigned long long misses;   /* records named without the names they needed, ever */
} Decoder;

static PyTypeObject DecoderType;

/* What a walk reads: the bytes, and the Python object they are, made only when a Python
 * reader or a post needs one (a reply decoded straight from the arena has none). */
typedef struct {
    PyObject *obj;       /* borrowed when given; else owned, made on demand */
    const uint8_t *base; /* the bytes obj holds */
    Py_ssize_t len;
    int owned;
    /* The names FIELD_NAME looks values up in (a dict, borrowed: the walk that set it holds
     * it), or NULL for none; names_missing: the set's names_cache lacked them. */
    PyObject *names;
    int names_missing;
} Source;

static PyObject *source_object(Source *src)
{
    if (src->obj == NULL) {
        src->obj = PyBytes_FromStringAndSize((const char *) src->base, src->len);
        src->owned = src->obj != NULL;
    }
    return src->obj;
}

static void source_release(Source *src)
{
    if (src->owned)
        Py_CLEAR(src->obj);
    src->owned = 0;
}

/* The exception being raised, taken (a new reference; NULL if none). */
static PyObject *take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

/* Raise exc again (steals the reference). */
static void give_exception(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyObject *type = (PyObject *) Py_TYPE(exc);

    Py_INCREF(type);
    PyErr_Restore(type, exc, PyException_GetTraceback(exc)); /* its own frames kept */
#endif
}

static PyObject *Py_True_ref(void)
{
    Py_INCREF(Py_True);
    return Py_True;
}

/* Raise the decoder's MalformedAttributesError(message, offset); returns NULL. */
static PyObject *malformed(Decoder *d, Py_ssize_t offset, const char *format, ...)
{
    va_list ap;
    PyObject *message, *exc;

    va_start(ap, format);
    message = PyUnicode_FromFormatV(format, ap);
    va_end(ap);
    if (message == NULL)
        return NULL;
    exc = PyObject_CallFunction(d->error, "On", message, offset);
    Py_DECREF(message);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *) Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* ---- reading values ------------------------------------------------------------------ */

static inline uint64_t read_uint(const uint8_t *p, int width, int big)
{
    uint64_t v = 0;
    int i;

    if (big == PY_BIG_ENDIAN) { /* the host's order: one load (the payload need not be aligned) */
        switch (width) {
        case 1:
            return p[0];
        case 2: {
            uint16_t x;

            memcpy(&x, p, 2);
            return x;
        }
        case 4: {
            uint32_t x;

            memcpy(&x, p, 4);
            return x;
        }
        case 8:
            memcpy(&v, p, 8);
            return v;
        }
    }
    if (big)
        for (i = 0; i < width; i++)
            v = v << 8 | p[i];
    else
        for (i = width - 1; i >= 0; i--)
            v = v << 8 | p[i];
    return v;
}

static inline PyObject *int_object(uint64_t raw, int width, int is_signed)
{
    if (is_signed) {
        int64_t v;

        if (width < 8) {
            uint64_t sign = (uint64_t) 1 << (8 * width - 1);
            v = (int64_t) ((raw ^ sign) - sign);
        } else {
            v = (int64_t) raw;
        }
        return PyLong_FromLongLong(v);
    }
    return PyLong_FromUnsignedLongLong(raw);
}

/* Names of the bits set in value: enum[bit], or the bit's mask where the enum lacks it. */
static PyObject *flag_names(PyObject *by_value, uint64_t value)
{
    PyObject *names = PyList_New(0), *bit_obj, *name;
    int bit;

    if (names == NULL)
        return NULL;
    for (bit = 0; bit < 64 && (value >> bit); bit++) {
        if (!((value >> bit) & 1))
            continue;
        bit_obj = PyLong_FromLong(bit);
        if (bit_obj == NULL)
            goto fail;
        name = PyDict_GetItemWithError(by_value, bit_obj);
        Py_DECREF(bit_obj);
        if (name != NULL) {
            Py_INCREF(name);
        } else {
            if (PyErr_Occurred())
                goto fail;
            name = PyLong_FromUnsignedLongLong((uint64_t) 1 << bit);
            if (name == NULL)
                goto fail;
        }
        if (PyList_Append(names, name) < 0) {
            Py_DECREF(name);
            goto fail;
        }
        Py_DECREF(name);
    }
    return names;
fail:
    Py_DECREF(names);
    return NULL;
}

/* An integer shown by its map (an IPv4 address, flag names, an enum's name). */
static PyObject *mapped_int(const Entry *e, const uint8_t *buf, Py_ssize_t start, uint64_t raw,
                            int width)
{
    int is_signed = e->flags & F_SIGNED;
    PyObject *value, *name;

    switch (e->map) {
    case MAP_IPV4: {
        const uint8_t *p = buf + start; /* the address is the payload's bytes, in order */

        return PyUnicode_FromFormat("%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    }
    case MAP_FLAGS:
        if (is_signed && (raw >> (8 * width - 1)) & 1)
            return int_object(raw, width, is_signed); /* a negative value names no bits */
        return flag_names(e->obj, raw);
    default: /* MAP_ENUM */
        value = int_object(raw, width, is_signed);
        if (value == NULL)
            return NULL;
        name = PyDict_GetItemWithError(e->obj, value);
        if (name != NULL) {
            Py_INCREF(name);
            Py_DECREF(value);
            return name;
        }
        if (PyErr_Occurred()) {
            Py_DECREF(value);
            return NULL;
        }
        return value;
    }
}

#if defined(__GNUC__)
__attribute__((always_inline)) /* in each walk's loop: the call costs as much as the read */
#endif
static inline PyObject *read_int(Decoder *d, const Entry *e, const uint8_t *buf,
                                 Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t size = end - start;
    int width = e->width;
    uint64_t raw;

    if (e->flags & F_VAR) {
        if (size != 1 && size != 2 && size != 4 && size != 8)
            return malformed(d, start, "%zd bytes is no width for %U", size, e->kind);
        width = (int) size;
        raw = read_uint(buf + start, width, 0);
    } else {
        if (size < width)
            return malformed(d, start, "%zd bytes too short for %U", size, e->kind);
        raw = read_uint(buf + start, width, e->flags & F_BIG ? 1 : PY_BIG_ENDIAN);
    }
    if (e->map == MAP_NONE)
        return int_object(raw, width, e->flags & F_SIGNED);
    return mapped_int(e, buf, start, raw, width);
}

static PyObject *read_string(const uint8_t *buf, Py_ssize_t start, Py_ssize_t end)
{
    const uint8_t *nul = memchr(buf + start, 0, (size_t) (end - start));
    Py_ssize_t len = nul != NULL ? nul - (buf + start) : end - start;

    return PyUnicode_DecodeUTF8((const char *) buf + start, len, "surrogateescape");
}

static PyObject *read_array(const Entry *e, const uint8_t *buf, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t count = (end - start) / e->width, i;
    int big = e->flags & F_BIG ? 1 : PY_BIG_ENDIAN;
    PyObject *list = PyList_New(count), *item;

    if (list == NULL)
        return NULL;
    for (i = 0; i < count; i++) {
        item = int_object(read_uint(buf + start + i * e->width, e->width, big), e->width,
                          e->flags & F_SIGNED);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static inline PyObject *walk_set(Decoder *d, Py_ssize_t index, Source *src, const uint8_t *buf,
                                 Py_ssize_t start, Py_ssize_t end, int depth);
static PyObject *read_struct(Decoder *d, Py_ssize_t index, Source *src, const uint8_t *buf,
                             Py_ssize_t start, Py_ssize_t end, int depth);

static PyObject *read_indexed(Decoder *d, const Entry *e, Source *src, const uint8_t *buf,
                              Py_ssize_t start, Py_ssize_t end, int depth);

static PyObject *read_value(Decoder *d, const Entry *e, Source *src, const uint8_t *buf,
                            Py_ssize_t start, Py_ssize_t end, int depth)
{
    switch (e->op) {
    case OP_INT:
        return read_int(d, e, buf, start, end);
    case OP_STRING:
        return read_string(buf, start, end);
    case OP_FLAG:
        return Py_True_ref();
    case OP_BINARY:
        return PyBytes_FromStringAndSize((const char *) buf + start, end - start);
    case OP_NEST:
        return walk_set(d, e->index, src, buf, start, end, depth + 1);
    case OP_ARRAY:
        return read_array(e, buf, start, end);
    case OP_STRUCT:
        return read_struct(d, e->index, src, buf, start, end, depth);
    case OP_INDEXED:
        return read_indexed(d, e, src, buf, start, end, depth);
    case OP_PYTHON: {
        PyObject *data = source_object(src);

        return data == NULL ? NULL : PyObject_CallFunction(e->obj, "Onni", data, start, end, depth);
    }
    default:
        PyErr_Format(PyExc_SystemError, "decoder entry of unknown kind %d", e->op);
        return NULL;
    }
}

static PyObject *read_struct(Decoder *d, Py_ssize_t index, Source *src, const uint8_t *buf,
                             Py_ssize_t start, Py_ssize_t end, int depth)
{
    const Table *t = d->tables[index];
    PyObject *out, *value;
    Py_ssize_t i;

    if (end - start < t->size)
        return malformed(d, start, "%zd bytes too short for struct %U (%zd)", end - start,
                         t->name, t->size);
    out = PyDict_New();
    if (out == NULL)
        return NULL;
    for (i = 0; i < t->n; i++) {
        const Entry *m = &t->entries[i];
        Py_ssize_t at = start + m->offset;

        if (m->op == OP_SKIP)
            continue;
        value = read_value(d, m, src, buf, at, at + m->size, depth);
        if (value == NULL || PyDict_SetItem(out, m->key, value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(value);
    }
    return out;
}

static PyObject *read_indexed(Decoder *d, const Entry *e, Source *src, const uint8_t *buf,
                              Py_ssize_t start, Py_ssize_t end, int depth)
{
    /* Every entry is checked before any is read, as codec._entries does. */
    PyObject *list, *item;
    Py_ssize_t pos = start, count = 0, i;
    uint16_t length;

    while (end - pos >= 4) {
        memcpy(&length, buf + pos, 2);
        if (length < 4 || pos + length > end)
            return malformed(d, pos, "attribute length %u invalid", (unsigned) length);
        pos += (length + 3) & ~3;
        count++;
    }
    /* A record's is a tuple, made at its size (no reader of the codec's runs while it
     * fills: record tables hold none), a dict's a list. */
    list = e->as_tuple ? PyTuple_New(count) : PyList_New(0);
    if (list == NULL)
        return NULL;
    for (pos = start, i = 0; end - pos >= 4 && i < count; pos += (length + 3) & ~3, i++) {
        memcpy(&length, buf + pos, 2);
        /* Again: a Python reader of an earlier entry may have changed a mutable buffer. */
        if (length < 4 || pos + length > end) {
            Py_DECREF(list);
            return malformed(d, pos, "attribute length %u invalid", (unsigned) length);
        }
        /* A nest straight to its walk: read_value's dispatch costs more than a small set */
        item = e->inner->op == OP_NEST
                   ? walk_set(d, e->inner->index, src, buf, pos + 4, pos + length, depth + 1)
                   : read_value(d, e->inner, src, buf, pos + 4, pos + length, depth);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        if (e->as_tuple) {
            PyTuple_SET_ITEM(list, i, item);
        } else {
            int rc = PyList_Append(list, item);

            Py_DECREF(item);
            if (rc < 0) {
                Py_DECREF(list);
                return NULL;
            }
        }
    }
    if (e->as_tuple && i < count) { /* a mutable buffer changed under a nested Python reader */
        Py_DECREF(list);
        return malformed(d, pos, "attributes changed while read");
    }
    return list;
}

/* out[key] = value for an attribute kept under its number: a repeat makes a _Repeats list. */
static int put_numbered(Decoder *d, PyObject *out, PyObject *key, PyObject *value)
{
    PyObject *found = PyDict_GetItemWithError(out, key), *pair, *list;
    int rc;

    if (found == NULL)
        return PyErr_Occurred() ? -1 : PyDict_SetItem(out, key, value);
    if (Py_TYPE(found) == (PyTypeObject *) d->repeats)
        return PyList_Append(found, value);
    pair = PyTuple_Pack(2, found, value);
    if (pair == NULL)
        return -1;
    list = PyObject_CallOneArg(d->repeats, pair);
    Py_DECREF(pair);
    if (list == NULL)
        return -1;
    rc = PyDict_SetItem(out, key, list);
    Py_DECREF(list);
    return rc;
}

/* ---- records ---------------------------------------------------------------------- */

/* An instance of the named tuple class `type` with n slots, to be filled with
 * PyTuple_SET_ITEM before anything else runs (its values are all made first). */
static PyObject *new_record(PyObject *type, Py_ssize_t n)
{
    PyTypeObject *tp = (PyTypeObject *) type;
    PyObject *t = tp->tp_alloc(tp, n);

#if PY_VERSION_HEX >= 0x030E0000
    /* 3.14 caches a tuple's hash; tp_alloc zeroes the field, -1 means unset. */
    if (t != NULL)
        ((PyTupleObject *) t)->ob_hash = -1;
#endif
    return t;
}

/* The names t's names_cache holds for the text of the set's first attribute names_number
 * in buf[start:end]: a borrowed dict, or NULL when there are none (or the attributes do
 * not parse: the walk then says why). *text: that text (a new reference, the value of the
 * field that attribute fills), or NULL. -1 with an exception set, else 0. */
static int cached_names(const Table *t, const uint8_t *buf, Py_ssize_t start, Py_ssize_t end,
                        PyObject **names, PyObject **text)
{
    Py_ssize_t pos = start;
    uint16_t length, raw_type;

    *names = *text = NULL;
    while (end - pos >= 4) {
        memcpy(&length, buf + pos, 2);
        memcpy(&raw_type, buf + pos + 2, 2);
        if (length < 4 || length > end - pos)
            return 0;
        if ((raw_type & TYPE_MASK) == t->names_number) {
            PyObject *found;

            if ((*text = read_string(buf, pos + 4, pos + length)) == NULL)
                return -1;
            /* A str key: its hash and comparison run no Python code. */
            found = PyDict_GetItemWithError(t->names_cache, *text);
            if (found == NULL && PyErr_Occurred()) {
                Py_CLEAR(*text);
                return -1;
            }
            if (found != NULL && PyDict_CheckExact(found))
                *names = found;
            return 0;
        }
        pos += (length + 3) & ~3;
    }
    return 0;
}

/* A record table's walk: the named tuple of the attributes in buf[start:end]. As
 * Attributes.get reads them, the first of an attribute counts (the later ones are not
 * read) unless it is a multi-attr, whose values make a tuple; what no field takes is
 * not read, nor counted as unknown. */
#if defined(__GNUC__)
__attribute__((noinline)) /* apart from the dict walk: each its own registers */
#endif
static PyObject *walk_record(Decoder *d, const Table *t, Source *src, const uint8_t *buf,
                             Py_ssize_t start, Py_ssize_t end, int depth)
{
    /* Which fields hold a value: a mask, not NULLs to write first and read back (the
     * walk of a small set costs less than zeroing an array, or waiting on it). */
    PyObject *values[RECORD_FIELDS_MAX], *record = NULL, *names_before = src->names;
    PyObject *text = NULL; /* the names' key, which is also a field's value */
    const Entry *entries = t->entries;
    Py_ssize_t pos = start, i, n = t->nfields, numbers = t->n;
    uint64_t filled = 0, bit;
    int missing_before = src->names_missing, rc;
    uint16_t length, raw_type;

    if (t->names_cache != NULL && src->names == NULL && !src->names_missing) {
        PyObject *names;

        if (cached_names(t, buf, start, end, &names, &text) < 0)
            goto out;
        if (names != NULL) {
            Py_INCREF(names); /* held while in effect: the cache may change meanwhile */
            src->names = names;
        } else {
            src->names_missing = 1;
        }
    }
    while (end - pos >= 4) {
        const Entry *e;

        memcpy(&length, buf + pos, 2);
        memcpy(&raw_type, buf + pos + 2, 2);
        if (length < 4) {
            malformed(d, pos, "attribute length %u below header size", (unsigned) length);
            goto out;
        }
        if (length > end - pos) {
            malformed(d, pos, "attribute length %u runs past the end (%zd bytes left)",
                      (unsigned) length, end - pos);
            goto out;
        }
        raw_type &= TYPE_MASK;
        /* slot -1: no field takes it (see record_from) */
        if (raw_type < numbers && (e = &entries[raw_type])->slot >= 0
            && (!(filled & ((uint64_t) 1 << e->slot)) || e->multi == MULTI_LIST)) {
            PyObject *value;

            /* The usual kinds straight to their readers: read_value's dispatch costs more. */
            if (e->op == OP_INT) {
                value = read_int(d, e, buf, pos + 4, pos + length);
            } else if (e->op == OP_STRING) {
                if (text != NULL && raw_type == t->names_number && e->multi != MULTI_LIST) {
                    value = text; /* read already, from this first one */
                    text = NULL;
                } else {
                    value = read_string(buf, pos + 4, pos + length);
                }
            } else if (e->op == OP_INDEXED) {
                value = read_indexed(d, e, src, buf, pos + 4, pos + length, depth);
            } else {
                value = read_value(d, e, src, buf, pos + 4, pos + length, depth);
            }
            if (value == NULL)
                goto out;
            bit = (uint64_t) 1 << e->slot;
            if (e->multi != MULTI_LIST) {
                values[e->slot] = value;
                filled |= bit;
            } else {
                if (!(filled & bit)) {
                    if ((values[e->slot] = PyList_New(0)) == NULL) {
                        Py_DECREF(value);
                        goto out;
                    }
                    filled |= bit;
                }
                rc = PyList_Append(values[e->slot], value);
                Py_DECREF(value);
                if (rc < 0)
                    goto out;
            }
        }
        pos += (length + 3) & ~3;
    }
    /* One pass: a name field comes after the field it is looked up by (see record_from).
     * Where every attribute was there, only the names are left to do. */
    for (i = filled == t->value_mask && !t->multi ? t->first_name : 0; i < n; i++) {
        const Field *f;
        PyObject *value;

        bit = (uint64_t) 1 << i;
        if (filled & bit) {
            if (t->multi && t->fields[i].multi) {
                if ((value = PyList_AsTuple(values[i])) == NULL)
                    goto out;
                Py_SETREF(values[i], value);
            }
            continue;
        }
        f = &t->fields[i];
        if (f->how == FIELD_REQUIRED) {
            malformed(d, start, "no %R attribute", f->key);
            goto out;
        }
        value = f->how == FIELD_VALUE ? f->dflt : Py_None;
        if (f->how == FIELD_NAME) {
            if (src->names != NULL) {
                value = PyDict_GetItemWithError(src->names, values[f->from]);
                if (value == NULL) {
                    if (PyErr_Occurred())
                        goto out;
                    value = Py_None;
                }
            } else if (src->names_missing) {
                d->misses++; /* the caller may look the names up and decode again */
            }
        }
        Py_INCREF(value);
        values[i] = value;
        filled |= bit;
    }
    /* Only the allocation then: no Python code sees the record half filled. */
    if ((record = new_record(t->record, n)) != NULL) {
        memcpy(((PyTupleObject *) record)->ob_item, values, (size_t) n * sizeof(PyObject *));
        filled = 0; /* the record's now */
    }
out:
    for (i = 0; filled && i < n; i++)
        if (filled & ((uint64_t) 1 << i))
            Py_DECREF(values[i]);
    Py_XDECREF(text);
    if (src->names != names_before)
        Py_DECREF(src->names); /* this walk's, taken above */
    src->names = names_before;
    src->names_missing = missing_before;
    return record;
}

/* A dict table's walk: the dict of the attributes in buf[start:end]. */
static PyObject *walk_dict(Decoder *d, const Table *t, Source *src, const uint8_t *buf,
                           Py_ssize_t start, Py_ssize_t end, int depth)
{
    PyObject *out, *value, *found, *key;
    Py_ssize_t pos = start;
    uint16_t length, raw_type;
    int rc;

    /* Presized, so that a set's usual keys fit without the dict growing on the way. */
    out = t->keys_hint > 5 ? _PyDict_NewPresized(t->keys_hint) : PyDict_New();
    if (out == NULL)
        return NULL;
    while (end - pos >= 4) {
        const Entry *e;

        memcpy(&length, buf + pos, 2);
        memcpy(&raw_type, buf + pos + 2, 2);
        if (length < 4) {
            malformed(d, pos, "attribute length %u below header size", (unsigned) length);
            goto fail;
        }
        if (length > end - pos) {
            malformed(d, pos, "attribute length %u runs past the end (%zd bytes left)",
                      (unsigned) length, end - pos);
            goto fail;
        }
        raw_type &= TYPE_MASK;
        e = raw_type < t->n ? &t->entries[raw_type] : NULL;
        if (e == NULL || e->op == OP_ABSENT) {
            d->saw_unknown = 1;
            d->unknowns++;
            key = PyLong_FromLong(raw_type);
            value = key == NULL ? NULL
                                : PyBytes_FromStringAndSize((const char *) buf + pos + 4, length - 4);
            rc = value == NULL ? -1 : put_numbered(d, out, key, value);
            Py_XDECREF(key);
            Py_XDECREF(value);
            if (rc < 0)
                goto fail;
        } else if (e->op != OP_SKIP) {
            value = read_value(d, e, src, buf, pos + 4, pos + length, depth);
            if (value == NULL)
                goto fail;
            if (e->multi == MULTI_ONE) {
                rc = PyDict_SetItem(out, e->key, value);
            } else if (e->multi == MULTI_LIST) {
                found = PyDict_GetItemWithError(out, e->key);
                if (found != NULL) {
                    rc = PyList_Append(found, value);
                } else if (PyErr_Occurred()) {
                    rc = -1;
                } else {
                    PyObject *list = PyList_New(1);

                    if (list == NULL) {
                        rc = -1;
                    } else {
                        Py_INCREF(value);
                        PyList_SET_ITEM(list, 0, value);
                        rc = PyDict_SetItem(out, e->key, list);
                        Py_DECREF(list);
                    }
                }
            } else {
                rc = put_numbered(d, out, e->key, value);
            }
            Py_DECREF(value);
            if (rc < 0)
                goto fail;
        }
        pos += (length + 3) & ~3;
    }
    if (PyDict_GET_SIZE(out) > t->keys_hint)
        ((Table *) t)->keys_hint = PyDict_GET_SIZE(out) > 64 ? 64 : PyDict_GET_SIZE(out);
    if (t->post != NULL) {
        PyObject *r = PyObject_CallFunction(t->post, "Oi", out, depth);

        if (r == NULL)
            goto fail;
        Py_DECREF(r);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static inline PyObject *walk_set(Decoder *d, Py_ssize_t index, Source *src, const uint8_t *buf,
                                 Py_ssize_t start, Py_ssize_t end, int depth)
{
    const Table *t = d->tables[index];

    if (depth > MAX_DEPTH)
        return malformed(d, start, "attributes nested too deep");
    if (!t->filled) {
        PyErr_SetString(PyExc_SystemError, "decoder table used before it was filled");
        return NULL;
    }
    if (t->record != NULL)
        return walk_record(d, t, src, buf, start, end, depth);
    return walk_dict(d, t, src, buf, start, end, depth);
}

/* ---- building tables ------------------------------------------------------------------- */

static void entry_clear(Entry *e)
{
    Py_CLEAR(e->key);
    Py_CLEAR(e->obj);
    Py_CLEAR(e->kind);
    if (e->inner != NULL) {
        entry_clear(e->inner);
        PyMem_Free(e->inner);
        e->inner = NULL;
    }
}

static int entry_traverse(Entry *e, visitproc visit, void *arg)
{
    Py_VISIT(e->key);
    Py_VISIT(e->obj);
    Py_VISIT(e->kind);
    if (e->inner != NULL)
        return entry_traverse(e->inner, visit, arg);
    return 0;
}

/* An entry from codec.py's tuple:
 * (number or offset, key, op, multi, width, flags, map, index, obj, kind, size, inner). */
static int entry_from(Decoder *d, PyObject *tuple, Entry *e, Py_ssize_t *number)
{
    int op, multi, width, flags, map;
    Py_ssize_t index, size;
    PyObject *key, *obj, *kind, *inner;

    if (!PyArg_ParseTuple(tuple, "nOiiiiinOOnO;a decoder entry is a 12-tuple", number, &key, &op,
                          &multi, &width, &flags, &map, &index, &obj, &kind, &size, &inner))
        return -1;
    if (op <= OP_ABSENT || op >= OP_LAST || multi < 0 || multi > MULTI_NUMBERED || map < 0
        || map >= MAP_LAST || size < 0) {
        PyErr_SetString(PyExc_ValueError, "decoder entry out of range");
        return -1;
    }
    if ((op == OP_INT && !(flags & F_VAR)) || op == OP_ARRAY) {
        if (width != 1 && width != 2 && width != 4 && width != 8) {
            PyErr_SetString(PyExc_ValueError, "decoder entry: width is 1, 2, 4 or 8");
            return -1;
        }
    }
    if ((op == OP_NEST || op == OP_STRUCT) && (index < 0 || index >= d->ntables)) {
        PyErr_SetString(PyExc_ValueError, "decoder entry: no such table");
        return -1;
    }
    if (op == OP_NEST && d->tables[index]->is_struct) {
        PyErr_SetString(PyExc_ValueError, "decoder entry: a nest needs an attribute set");
        return -1;
    }
    if (op == OP_STRUCT && (!d->tables[index]->is_struct || !d->tables[index]->filled)) {
        /* Filled first, so no struct can hold itself (its walk has no depth to stop it). */
        PyErr_SetString(PyExc_ValueError, "decoder entry: a struct needs a filled struct table");
        return -1;
    }
    if (map == MAP_IPV4 && (op != OP_INT || width != 4 || (flags & F_VAR))) {
        PyErr_SetString(PyExc_ValueError, "decoder entry: an IPv4 address is a 4-byte integer");
        return -1;
    }
    if (op == OP_PYTHON && !PyCallable_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "decoder entry: a Python reader must be callable");
        return -1;
    }
    if (op == OP_INT && (map == MAP_ENUM || map == MAP_FLAGS) && !PyDict_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "decoder entry: an enum is a dict");
        return -1;
    }
    if ((op == OP_INT || op == OP_ARRAY) && !PyUnicode_Check(kind)) {
        PyErr_SetString(PyExc_TypeError, "decoder entry: an integer's kind is a str");
        return -1;
    }
    memset(e, 0, sizeof(*e));
    if (op == OP_INDEXED) {
        Py_ssize_t ignored;

        if (!PyTuple_Check(inner)) {
            PyErr_SetString(PyExc_TypeError, "decoder entry: an indexed-array has an inner entry");
            return -1;
        }
        e->inner = PyMem_Calloc(1, sizeof(Entry));
        if (e->inner == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (entry_from(d, inner, e->inner, &ignored) < 0) {
            PyMem_Free(e->inner);
            e->inner = NULL;
            return -1;
        }
    }
    e->op = (uint8_t) op;
    e->multi = (uint8_t) multi;
    e->width = (uint8_t) width;
    e->flags = (uint8_t) flags;
    e->map = (uint8_t) map;
    e->index = index;
    e->size = size;
    Py_INCREF(key);
    e->key = key;
    Py_INCREF(obj);
    e->obj = obj;
    Py_INCREF(kind);
    e->kind = kind;
    return 0;
}

static void fields_free(Field *fields, Py_ssize_t n)
{
    Py_ssize_t i;

    for (i = 0; fields != NULL && i < n; i++) {
        Py_CLEAR(fields[i].key);
        Py_CLEAR(fields[i].dflt);
    }
    PyMem_Free(fields);
}

static void table_clear(Table *t)
{
    Py_ssize_t i;

    if (t->entries != NULL) {
        for (i = 0; i < t->n; i++)
            entry_clear(&t->entries[i]);
        PyMem_Free(t->entries);
        t->entries = NULL;
    }
    t->n = 0;
    Py_CLEAR(t->post);
    Py_CLEAR(t->name);
    fields_free(t->fields, t->nfields);
    t->fields = NULL;
    t->nfields = 0;
    Py_CLEAR(t->record);
    Py_CLEAR(t->names_cache);
}

static int Decoder_init(Decoder *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"error", "repeats", NULL};
    PyObject *error, *repeats;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:Decoder", kwlist, &error, &repeats))
        return -1;
    if (!PyType_Check(repeats) || !PyType_IsSubtype((PyTypeObject *) repeats, &PyList_Type)) {
        PyErr_SetString(PyExc_TypeError, "repeats must be a list subclass");
        return -1;
    }
    Py_INCREF(error);
    Py_XSETREF(self->error, error);
    Py_INCREF(repeats);
    Py_XSETREF(self->repeats, repeats);
    return 0;
}

static int Decoder_traverse(Decoder *self, visitproc visit, void *arg)
{
    Py_ssize_t i, j;

    Py_VISIT(self->error);
    Py_VISIT(self->repeats);
    for (i = 0; i < self->ntables; i++) {
        Table *t = self->tables[i];

        Py_VISIT(t->post);
        Py_VISIT(t->name);
        Py_VISIT(t->record);
        Py_VISIT(t->names_cache);
        for (j = 0; j < t->nfields; j++) {
            Py_VISIT(t->fields[j].key);
            Py_VISIT(t->fields[j].dflt);
        }
        for (j = 0; j < t->n; j++) {
            int rc = entry_traverse(&t->entries[j], visit, arg);

            if (rc)
                return rc;
        }
    }
    return 0;
}

static int Decoder_clear(Decoder *self)
{
    Table **tables = self->tables;
    Py_ssize_t i, n = self->ntables;

    /* Detached first: a destructor run by a decref below finds no tables. */
    self->tables = NULL;
    self->ntables = self->cap = 0;
    for (i = 0; i < n; i++) {
        table_clear(tables[i]);
        PyMem_Free(tables[i]);
    }
    PyMem_Free(tables);
    Py_CLEAR(self->error);
    Py_CLEAR(self->repeats);
    return 0;
}

static void Decoder_dealloc(Decoder *self)
{
    PyObject_GC_UnTrack(self);
    Decoder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *) self);
}

static int decoder_ready(Decoder *self)
{
    if (self->error == NULL || self->repeats == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Decoder not initialised");
        return -1;
    }
    return 0;
}

/* new_table(is_struct) -> index: an empty table, to be filled by fill(); nests may refer
 * to it meanwhile (sets that contain themselves). */
static PyObject *Decoder_new_table(Decoder *self, PyObject *arg)
{
    int is_struct = PyObject_IsTrue(arg);
    Table *table;

    if (is_struct < 0 || decoder_ready(self) < 0)
        return NULL;
    if (self->ntables == self->cap) {
        Py_ssize_t cap = self->cap ? self->cap * 2 : 16;
        Table **grown = PyMem_Realloc(self->tables, (size_t) cap * sizeof(Table *));

        if (grown == NULL)
            return PyErr_NoMemory();
        self->tables = grown;
        self->cap = cap;
    }
    table = PyMem_Calloc(1, sizeof(Table));
    if (table == NULL)
        return PyErr_NoMemory();
    table->is_struct = is_struct;
    self->tables[self->ntables] = table;
    return PyLong_FromSsize_t(self->ntables++);
}

/* Whether obj is a named tuple class of n fields: a heap type deriving straight from
 * tuple, with its layout (no slots, no __dict__, unlike a struct sequence), and n names
 * in _fields. 0 with TypeError set if not. */
static int is_named_tuple(PyObject *obj, Py_ssize_t n)
{
    PyTypeObject *tp = (PyTypeObject *) obj;
    PyObject *names;
    int ok;

    if (!PyType_Check(obj) || tp->tp_base != &PyTuple_Type
        || !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) || tp->tp_basicsize != PyTuple_Type.tp_basicsize
        || tp->tp_itemsize != PyTuple_Type.tp_itemsize || tp->tp_dictoffset != 0) {
        PyErr_SetString(PyExc_TypeError, "a record is a named tuple class");
        return 0;
    }
    names = PyObject_GetAttrString(obj, "_fields");
    if (names == NULL) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "a record is a named tuple class");
        return 0;
    }
    ok = PyTuple_Check(names) && PyTuple_GET_SIZE(names) == n;
    Py_DECREF(names);
    if (!ok)
        PyErr_Format(PyExc_TypeError, "a record of %zd fields needs a class of %zd fields", n, n);
    return ok;
}

/* The field of fields[0:n] that takes an entry's values under `key` (FIELD_VALUE or
 * FIELD_REQUIRED); -1 if none, -2 with an exception set. */
static Py_ssize_t field_of(const Field *fields, Py_ssize_t n, PyObject *key)
{
    Py_ssize_t i;

    for (i = 0; i < n; i++) {
        int same;

        if (fields[i].how == FIELD_NAME)
            continue;
        same = PyObject_RichCompareBool(fields[i].key, key, Py_EQ);
        if (same < 0)
            return -2;
        if (same)
            return i;
    }
    return -1;
}

/* Make t a record table of d, from fill()'s record=(type, fields, names): fields one per
 * field of the named tuple class `type`, each (how, key, default); names None, or
 * (number, cache) for the names of FIELD_NAME (see Table). Gives the entries
 * built[0:slots] their fields. 0, or -1 with an exception set (t unchanged). */
/* Whether a record table may hold entry e: one that runs no Python reader (no struct
 * either, whose members may have some), nesting only a filled record table (a record
 * nests no set of its own, so none holds itself). A record's decode then calls no Python
 * function it was given. */
static int record_entry_ok(const Decoder *d, const Entry *e)
{
    switch (e->op) {
    case OP_PYTHON:
    case OP_STRUCT:
        return 0;
    case OP_NEST:
        return d->tables[e->index]->filled && d->tables[e->index]->record != NULL;
    default:
        return 1;
    }
}

static int record_from(Decoder *d, Table *t, PyObject *record, Entry *built, Py_ssize_t slots)
{
    PyObject *type, *fields_arg, *names, *seq = NULL, *cache = NULL;
    Py_ssize_t i, n = 0, number = 0;
    Field *fields = NULL;

    if (!PyTuple_Check(record)
        || !PyArg_ParseTuple(record, "OOO;a record is (type, fields, names)", &type, &fields_arg,
                             &names)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "a record is (type, fields, names)");
        return -1;
    }
    if ((seq = PySequence_Tuple(fields_arg)) == NULL)
        return -1;
    n = PyTuple_GET_SIZE(seq);
    if (n > RECORD_FIELDS_MAX) {
        PyErr_Format(PyExc_ValueError, "a record has at most %d fields", RECORD_FIELDS_MAX);
        goto fail;
    }
    if (!is_named_tuple(type, n))
        goto fail;
    if (names != Py_None) {
        if (!PyTuple_Check(names)
            || !PyArg_ParseTuple(names, "nO;record names are (number, cache)", &number, &cache))
        {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "record names are (number, cache)");
            goto fail;
        }
        if (number < 0 || number > TYPE_MASK || !PyDict_CheckExact(cache)) {
            PyErr_SetString(PyExc_ValueError, "record names need an attribute number and a dict");
            goto fail;
        }
    }
    if ((fields = PyMem_Calloc(n ? (size_t) n : 1, sizeof(Field))) == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (i = 0; i < n; i++) {
        PyObject *key, *dflt;
        int how;

        if (!PyTuple_Check(PyTuple_GET_ITEM(seq, i))
            || !PyArg_ParseTuple(PyTuple_GET_ITEM(seq, i),
                                 "iOO;a record field is (how, key, default)", &how, &key, &dflt)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "a record field is (how, key, default)");
            goto fail;
        }
        if (how < FIELD_VALUE || how >= FIELD_LAST) {
            PyErr_SetString(PyExc_ValueError, "record field out of range");
            goto fail;
        }
        if (how != FIELD_NAME) {
            Py_ssize_t other = field_of(fields, i, key);

            if (other == -2)
                goto fail;
            if (other >= 0) {
                PyErr_Format(PyExc_ValueError, "two record fields take %R", key);
                goto fail;
            }
        }
        fields[i].how = (uint8_t) how;
        Py_INCREF(key);
        fields[i].key = key;
        Py_INCREF(dflt);
        fields[i].dflt = dflt;
    }
    for (i = 0; i < n; i++) {
        if (fields[i].how != FIELD_NAME)
            continue;
        fields[i].from = field_of(fields, i, fields[i].key);
        if (fields[i].from == -2)
            goto fail;
        if (fields[i].from < 0) {
            PyErr_Format(PyExc_ValueError,
                         "no earlier record field takes %R, which a name is looked up by",
                         fields[i].key);
            goto fail;
        }
    }
    for (i = 0; i < slots; i++) {
        Entry *e = &built[i];
        Py_ssize_t j, k;

        if (e->op == OP_ABSENT || e->op == OP_SKIP) {
            e->slot = -1; /* not read */
            continue;
        }
        if (!record_entry_ok(d, e) || (e->inner != NULL && !record_entry_ok(d, e->inner))
            || e->multi == MULTI_NUMBERED) {
            PyErr_SetString(PyExc_ValueError,
                            "a record table holds no Python reader, no struct and no numbered "
                            "set, and nests only filled record tables");
            goto fail;
        }
        j = field_of(fields, n, e->key);
        if (j == -2)
            goto fail;
        if (j < 0) {
            PyErr_Format(PyExc_ValueError, "no record field takes entry %R", e->key);
            goto fail;
        }
        for (k = 0; k < i; k++) {
            if (built[k].slot == j) {
                PyErr_Format(PyExc_ValueError, "two entries fill record field %R", e->key);
                goto fail;
            }
        }
        e->slot = j;
        e->as_tuple = e->op == OP_INDEXED;
        fields[j].multi = e->multi == MULTI_LIST;
    }
    Py_DECREF(seq);
    Py_INCREF(type);
    t->record = type;
    t->fields = fields;
    t->nfields = n;
    t->multi = 0;
    t->value_mask = 0;
    t->first_name = n;
    for (i = n - 1; i >= 0; i--) {
        t->multi |= fields[i].multi;
        if (fields[i].how == FIELD_NAME)
            t->first_name = i;
        else
            t->value_mask |= (uint64_t) 1 << i;
    }
    Py_XINCREF(cache);
    t->names_cache = cache;
    t->names_number = number;
    return 0;
fail:
    fields_free(fields, n);
    Py_XDECREF(seq);
    return -1;
}

/* fill(index, entries, post=None, name=None, size=0, record=None): an attribute set's
 * entries (by their numbers, with post called after each walk) or a struct's members (by
 * offset); record makes the set's walks make a named tuple (see record_from). Once. */
static PyObject *Decoder_fill(Decoder *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"index", "entries", "post", "name", "size", "record", NULL};
    Py_ssize_t index, size = 0, i, n, number, max_number = -1;
    PyObject *entries, *post = Py_None, *name = Py_None, *record = Py_None, *seq;
    Entry *built;
    Table *t;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "nO|OOnO:fill", kwlist, &index, &entries, &post,
                                     &name, &size, &record))
        return NULL;
    if (decoder_ready(self) < 0)
        return NULL;
    if (index < 0 || index >= self->ntables) {
        PyErr_SetString(PyExc_IndexError, "no such decoder table");
        return NULL;
    }
    t = self->tables[index];
    if (t->filled) {
        PyErr_SetString(PyExc_ValueError, "decoder table already filled");
        return NULL;
    }
    if (post != Py_None && !PyCallable_Check(post)) {
        PyErr_SetString(PyExc_TypeError, "post must be callable or None");
        return NULL;
    }
    if (t->is_struct && (name == Py_None || !PyUnicode_Check(name) || size < 0)) {
        PyErr_SetString(PyExc_TypeError, "a struct table needs a name (str) and a size");
        return NULL;
    }
    if (record != Py_None && (t->is_struct || post != Py_None)) {
        PyErr_SetString(PyExc_TypeError, "a record is made of a set's table, with no post");
        return NULL;
    }
    /* A tuple of its own: no Python code run below can change what is being read. */
    seq = PySequence_Tuple(entries);
    if (seq == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    /* Attribute sets are indexed by number: find the largest first. */
    if (!t->is_struct) {
        for (i = 0; i < n; i++) {
            PyObject *item = PySequence_Fast_GET_ITEM(seq, i);

            if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) < 1) {
                PyErr_SetString(PyExc_TypeError, "a decoder entry is a 12-tuple");
                goto fail_seq;
            }
            number = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 0));
            if (number == -1 && PyErr_Occurred())
                goto fail_seq;
            if (number < 0 || number > TYPE_MASK) {
                PyErr_SetString(PyExc_ValueError, "attribute number out of range");
                goto fail_seq;
            }
            if (number > max_number)
                max_number = number;
        }
    }
    {
        Py_ssize_t slots = t->is_struct ? n : max_number + 1;

        built = PyMem_Calloc(slots ? (size_t) slots : 1, sizeof(Entry));
        if (built == NULL) {
            PyErr_NoMemory();
            goto fail_seq;
        }
        for (i = 0; i < n; i++) {
            Entry e;

            if (entry_from(self, PySequence_Fast_GET_ITEM(seq, i), &e, &number) < 0)
                goto fail_built;
            if (t->is_struct) {
                if (number < 0 || e.size < 0 || number > size - e.size) {
                    entry_clear(&e);
                    PyErr_SetString(PyExc_ValueError, "struct member outside the struct");
                    goto fail_built;
                }
                e.offset = number;
                built[i] = e;
            } else {
                if (number < 0 || number > max_number) { /* an __index__ that changed its mind */
                    entry_clear(&e);
                    PyErr_SetString(PyExc_ValueError, "attribute number out of range");
                    goto fail_built;
                }
                entry_clear(&built[number]); /* a number given twice: the last wins */
                built[number] = e;
            }
        }
        if (record != Py_None && record_from(self, t, record, built, slots) < 0)
            goto fail_built;
        t->entries = built;
        t->n = slots;
    }
    Py_DECREF(seq);
    if (post != Py_None) {
        Py_INCREF(post);
        t->post = post;
    }
    if (name != Py_None) {
        Py_INCREF(name);
        t->name = name;
    } else if (t->is_struct) {
        t->name = PyUnicode_FromString("?");
        if (t->name == NULL)
            return NULL;
    }
    t->size = size;
    t->filled = 1;
    Py_RETURN_NONE;
fail_built:
    for (i = 0; i < (t->is_struct ? n : max_number + 1); i++)
        entry_clear(&built[i]);
    PyMem_Free(built);
fail_seq:
    Py_DECREF(seq);
    return NULL;
}

/* Parse (index, data, start, end, depth) and check the span; fills view. */
static int decode_args(Decoder *self, PyObject *const *args, Py_ssize_t nargs, const char *what,
                       int want_struct, Py_ssize_t *index, Py_buffer *view, Py_ssize_t *start,
                       Py_ssize_t *end, int *depth)
{
    if (nargs < 2 || nargs > 5) {
        PyErr_Format(PyExc_TypeError, "%s(index, data, start=0, end=None, depth=0)", what);
        return -1;
    }
    if (decoder_ready(self) < 0)
        return -1;
    *index = PyLong_AsSsize_t(args[0]);
    if (*index == -1 && PyErr_Occurred())
        return -1;
    if (*index < 0 || *index >= self->ntables || self->tables[*index]->is_struct != want_struct
        || !self->tables[*index]->filled) {
        PyErr_Format(PyExc_IndexError, "%s: no such filled table %zd", what, *index);
        return -1;
    }
    if (PyObject_GetBuffer(args[1], view, PyBUF_SIMPLE) < 0)
        return -1;
    *start = 0;
    *end = view->len;
    *depth = 0;
    if (nargs > 2) {
        *start = PyLong_AsSsize_t(args[2]);
        if (*start == -1 && PyErr_Occurred())
            goto fail;
    }
    if (nargs > 3 && args[3] != Py_None) {
        *end = PyLong_AsSsize_t(args[3]);
        if (*end == -1 && PyErr_Occurred())
            goto fail;
    }
    if (nargs > 4) {
        long value = PyLong_AsLong(args[4]);

        if (value == -1 && PyErr_Occurred())
            goto fail;
        *depth = value < 0 ? 0 : value > MAX_DEPTH + 1 ? MAX_DEPTH + 1 : (int) value;
    }
    if (*start < 0 || *end > view->len || *start > *end) {
        PyErr_Format(PyExc_ValueError, "%s: span %zd..%zd outside a buffer of %zd bytes", what,
                     *start, *end, view->len);
        goto fail;
    }
    return 0;
fail:
    PyBuffer_Release(view);
    return -1;
}

/* decode(index, data, start=0, end=None, depth=0) -> dict: the attributes in data[start:end]. */
static PyObject *Decoder_decode(Decoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t index, start, end;
    Py_buffer view;
    PyObject *out;
    int depth;

    if (decode_args(self, args, nargs, "decode", 0, &index, &view, &start, &end, &depth) < 0)
        return NULL;
    {
        Source src = {args[1], view.buf, view.len, 0};

        out = walk_set(self, index, &src, view.buf, start, end, depth);
    }
    PyBuffer_Release(&view);
    return out;
}

/* decode_struct(index, data, start=0, end=None, depth=0) -> dict: a struct's members. */
static PyObject *Decoder_decode_struct(Decoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t index, start, end;
    Py_buffer view;
    PyObject *out;
    int depth;

    if (decode_args(self, args, nargs, "decode_struct", 1, &index, &view, &start, &end, &depth)
        < 0)
        return NULL;
    {
        Source src = {args[1], view.buf, view.len, 0};

        out = read_struct(self, index, &src, view.buf, start, end, depth);
    }
    PyBuffer_Release(&view);
    return out;
}

static PyObject *Decoder_get_saw_unknown(Decoder *self, void *closure)
{
    return PyBool_FromLong(self->saw_unknown);
}

static int Decoder_set_saw_unknown(Decoder *self, PyObject *value, void *closure)
{
    int truth;

    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "saw_unknown cannot be deleted");
        return -1;
    }
    truth = PyObject_IsTrue(value);
    if (truth < 0)
        return -1;
    self->saw_unknown = truth;
    return 0;
}

static PyObject *Decoder_get_unknowns(Decoder *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->unknowns);
}

static PyObject *Decoder_get_misses(Decoder *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->misses);
}

static PyObject *Decoder_get_tables(Decoder *self, void *closure)
{
    return PyLong_FromSsize_t(self->ntables);
}

/* ---- replies of a receive batch --------------------------------------------------------- */

#define MSG_HDRLEN 16  /* NLMSG_HDRLEN */
#define GENL_HDRLEN 4

/* The (set index, header index or -1) lookup gave, checked: None is set -1 (the messages
 * are left to Python). 0, or -1 with an exception set. */
static int tables_of(Decoder *self, PyObject *found, Py_ssize_t *set_index,
                     Py_ssize_t *header_index)
{
    const Table *set, *header;

    *set_index = *header_index = -1;
    if (found == Py_None)
        return 0;
    if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 2) {
        PyErr_SetString(PyExc_TypeError, "lookup() gives (set index, header index)");
        return -1;
    }
    if ((*set_index = PyLong_AsSsize_t(PyTuple_GET_ITEM(found, 0))) == -1 && PyErr_Occurred())
        return -1;
    if ((*header_index = PyLong_AsSsize_t(PyTuple_GET_ITEM(found, 1))) == -1
        && PyErr_Occurred())
        return -1;
    set = *set_index >= 0 && *set_index < self->ntables ? self->tables[*set_index] : NULL;
    header = *header_index >= 0 && *header_index < self->ntables ? self->tables[*header_index]
                                                                   : NULL;
    if (*set_index >= self->ntables || *header_index >= self->ntables
        || (set != NULL && (set->is_struct || !set->filled))
        || (header != NULL && (!header->is_struct || !header->filled))) {
        PyErr_SetString(PyExc_IndexError, "lookup() gave no such filled tables");
        return -1;
    }
    if (set != NULL && header != NULL && set->record != NULL) {
        PyErr_SetString(PyExc_ValueError, "a record takes no fixed header");
        return -1;
    }
    return 0;
}

/* One reply decoded as codec.decode_message decodes it: header fields, then attributes.
 * Offsets are the message's own, as in Python, where the message is a bytes object. */
static PyObject *decode_reply(Decoder *self, Source *msg, Py_ssize_t hdrsize,
                              Py_ssize_t set_index, Py_ssize_t header_index)
{
    Py_ssize_t at = MSG_HDRLEN + GENL_HDRLEN + hdrsize;
    PyObject *values, *fields;
    Source head = {NULL, msg->base + MSG_HDRLEN + GENL_HDRLEN, hdrsize, 0};

    values = walk_set(self, set_index, msg, msg->base, at, msg->len, 0);
    if (values == NULL || header_index < 0 || hdrsize == 0)
        return values;
    fields = read_struct(self, header_index, &head, head.base, 0, hdrsize, 0);
    source_release(&head);
    if (fields == NULL || PyDict_Update(fields, values) < 0) {
        Py_XDECREF(fields);
        Py_DECREF(values);
        return NULL;
    }
    Py_DECREF(values);
    return fields;
}

/* decode_replies(decoder, view, desc, reply_kind, lookup, hdrsize, out, pending)
 *     -> (rest, flags, count)
 *
 * The replies of a receive batch (descriptors of kind reply_kind, with both headers),
 * decoded into out as codec.decode_message would, in one call. desc is a list of ints
 * or a buffer of uint32 words (words.h); rest is a list. lookup(cmd) gives a
 * command's (set index, header index or -1), or None to leave its messages to Python,
 * as are messages too short for their headers and every other descriptor: those come
 * back in rest; lookup may instead be such a tuple, the tables of every command, or a
 * dict of command -> such a tuple or None, a command it lacks being left to Python
 * (then no Python code is called to look tables up). A reply whose decode met an attribute its set lacks,
 * or named a record without the names it needed, or failed, is put in pending as
 * (position in out, the message's bytes, the exception or None); a failed one holds
 * None in out. flags is the OR of the decoded replies' nlmsg_flags.
 *
 * pending None: every reply goes to out, what the tables make of it or, wherever that
 * is not exact (a decode that failed or met what its tables lack, a message too short
 * for its headers, a command lookup leaves to Python), its bytes, for the caller's
 * reference decoder; a span outside view raises ValueError. flags is then the OR of
 * every reply's nlmsg_flags, and the count returned is of the replies left as bytes
 * (libnl_py.genl.family.decode_batch). */
static PyObject *decode_replies_batch(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Decoder *self;
    PyObject *lookup, *out, *pending, *rest = NULL;
    Words words;
    Py_ssize_t hdrsize, i, n, decoded = 0, undecided = 0, set_index = -1, header_index = -1;
    unsigned long reply_kind, flags_or = 0;
    long last_cmd = -1;
    int constant, by_dict, as_bytes;
    Py_buffer view;

    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "decode_replies() takes 8 arguments");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], &DecoderType)) {
        PyErr_SetString(PyExc_TypeError, "decode_replies() needs a Decoder");
        return NULL;
    }
    self = (Decoder *) args[0];
    lookup = args[4];
    out = args[6];
    pending = args[7];
    constant = PyTuple_Check(lookup);
    by_dict = PyDict_Check(lookup);
    as_bytes = pending == Py_None;
    if (!PyList_Check(out) || !(as_bytes || PyList_Check(pending))
        || !(constant || by_dict || PyCallable_Check(lookup))) {
        PyErr_SetString(PyExc_TypeError,
                        "decode_replies() needs out and pending lists and a lookup");
        return NULL;
    }
    reply_kind = PyLong_AsUnsignedLong(args[3]);
    hdrsize = PyLong_AsSsize_t(args[5]);
    if (PyErr_Occurred() || decoder_ready(self) < 0)
        return NULL;
    if (hdrsize < 0 || hdrsize > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError, "hdrsize out of range");
        return NULL;
    }
    if (constant && tables_of(self, lookup, &set_index, &header_index) < 0)
        return NULL;
    /* A list is copied: lookup(), the readers and a malformed message's exception run
     * Python code, which could change it. */
    if (words_open(&words, args[2]) < 0)
        return NULL;
    n = words.n / DESC_WORDS;
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0) {
        words_close(&words);
        return NULL;
    }
    if ((rest = PyList_New(0)) == NULL)
        goto fail;
    for (i = 0; i < n; i++) {
        unsigned long d[DESC_WORDS];
        PyObject *values;
        Source msg;
        unsigned long long before, misses;
        int k;

        for (k = 0; k < DESC_WORDS; k++) /* kind, flags, start, end are what it reads */
            if ((k == 0 || k == 2 || k == 5 || k == 6)
                && words_get(&words, i * DESC_WORDS + k, &d[k]) < 0)
                goto fail;
        if (d[0] != reply_kind)
            goto keep;
        if (d[5] > d[6] || d[6] > (unsigned long) view.len) {
            if (as_bytes) {
                PyErr_SetString(PyExc_ValueError, "descriptor span outside the buffer");
                goto fail;
            }
            goto rest_of_batch;
        }
        if (d[6] - d[5] < (unsigned long) (MSG_HDRLEN + GENL_HDRLEN + hdrsize))
            goto undecoded;
        if (!constant) {
            long cmd = ((const uint8_t *) view.buf)[d[5] + MSG_HDRLEN];

            if (cmd != last_cmd) {
                PyObject *found;

                if (by_dict) { /* no Python code runs: the caller may hold a lock */
                    PyObject *key = PyLong_FromLong(cmd);

                    found = key == NULL ? NULL : PyDict_GetItemWithError(lookup, key);
                    Py_XDECREF(key);
                    if (found == NULL && PyErr_Occurred())
                        goto fail;
                    found = found == NULL ? Py_None : found;
                    Py_INCREF(found);
                } else if ((found = PyObject_CallFunction(lookup, "l", cmd)) == NULL) {
                    goto fail;
                }
                k = tables_of(self, found, &set_index, &header_index);
                Py_DECREF(found);
                if (k < 0)
                    goto fail;
                last_cmd = cmd;
            }
        }
        if (set_index < 0)
            goto undecoded;
        msg.obj = NULL;
        msg.owned = 0;
        msg.names = NULL;
        msg.names_missing = 0;
        msg.base = (const uint8_t *) view.buf + d[5];
        msg.len = (Py_ssize_t) (d[6] - d[5]);
        /* A count, not the flag: other threads' decodes may run in the Python readers, and
         * a count they raise too only sends a message through the policy codec again. */
        before = self->unknowns;
        misses = self->misses;
        values = decode_reply(self, &msg, hdrsize, set_index, header_index);
        if (as_bytes && (values == NULL || self->unknowns != before || self->misses != misses)) {
            if (values == NULL) {
                PyObject *exc = take_exception();

                if (exc == NULL || PyObject_IsInstance(exc, self->error) != 1) {
                    if (exc != NULL)
                        give_exception(exc); /* not the message's fault: it goes up */
                    else
                        PyErr_SetString(PyExc_SystemError, "a decode failed without an exception");
                    source_release(&msg);
                    goto fail;
                }
                Py_DECREF(exc);
            }
            Py_CLEAR(values);
            source_release(&msg);
            goto undecoded;
        }
        if (values == NULL || self->unknowns != before || self->misses != misses) {
            PyObject *exc = NULL, *entry;

            if (values == NULL) {
                exc = take_exception();
                if (exc == NULL) {
                    PyErr_SetString(PyExc_SystemError, "a decode failed without an exception");
                } else if (PyObject_IsInstance(exc, self->error) != 1) {
                    /* Not a malformed message (MemoryError, a bug): it goes up. */
                    give_exception(exc);
                    exc = NULL;
                }
                if (exc == NULL) {
                    source_release(&msg);
                    goto fail;
                }
            }
            entry = source_object(&msg) == NULL
                        ? NULL
                        : Py_BuildValue("nOO", PyList_GET_SIZE(out), msg.obj,
                                        exc != NULL ? exc : Py_None);
            Py_XDECREF(exc);
            if (entry == NULL || PyList_Append(pending, entry) < 0) {
                Py_XDECREF(entry);
                Py_XDECREF(values);
                source_release(&msg);
                goto fail;
            }
            Py_DECREF(entry);
        }
        source_release(&msg);
        k = PyList_Append(out, values != NULL ? values : Py_None);
        Py_XDECREF(values);
        if (k < 0)
            goto fail;
        flags_or |= d[2];
        decoded++;
        continue;
undecoded:
        if (!as_bytes)
            goto rest_of_batch;
        {
            PyObject *data = PyBytes_FromStringAndSize((const char *) view.buf + d[5],
                                                       (Py_ssize_t) (d[6] - d[5]));

            k = data == NULL ? -1 : PyList_Append(out, data);
            Py_XDECREF(data);
            if (k < 0)
                goto fail;
        }
        flags_or |= d[2];
        undecided++;
        continue;
keep:
        if (words_append(&words, i * DESC_WORDS, (i + 1) * DESC_WORDS, rest) < 0)
            goto fail;
        continue;
rest_of_batch:
        /* A reply for Python: it and all after it go back, so that the replies stay in
         * the order they came. */
        if (words_append(&words, i * DESC_WORDS, n * DESC_WORDS, rest) < 0)
            goto fail;
        break;
    }
    words_close(&words);
    PyBuffer_Release(&view);
    return Py_BuildValue("Nkn", rest, flags_or, as_bytes ? undecided : decoded);
fail:
    Py_XDECREF(rest);
    words_close(&words);
    PyBuffer_Release(&view);
    return NULL;
}

/* decode_replies: decode_replies_batch with the cyclic GC paused.
 *
 * A batch's values are trees (dicts, lists, tuples) that make no cycle, and a batch is
 * bounded by the receive arena; letting the collector run every 700 allocations while
 * they are made traverses the caller's growing result again and again (17% of a large
 * decoded dump). Paused, the collector runs at the next allocation after the batch, as
 * its thresholds say, once. Only if it was enabled: a caller's gc.disable() stays. */
static PyObject *decoder_decode_replies(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
#if PY_VERSION_HEX >= 0x030A0000
    int was_enabled = PyGC_Disable();
    PyObject *result = decode_replies_batch(module, args, nargs);

    if (was_enabled)
        PyGC_Enable();
    return result;
#else
    return decode_replies_batch(module, args, nargs);
#endif
}

/* record(index, data, names=None) -> the record, or None
 *
 * What record table `index` makes of the generic netlink message at the start of data:
 * its attributes after both headers, up to its nlmsg_len (bytes after it are not read).
 * names: the {value: name} dict FIELD_NAME looks values up in, or None for the table's
 * names cache. None where this cannot make the record exactly: a message shorter than
 * its headers or cut short of its nlmsg_len, attributes that do not parse, an attribute
 * a field requires absent, names the cache lacks; the caller's reference decoder then
 * decides, and names the fault. */
static PyObject *Decoder_record(Decoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t index;
    Py_buffer view;
    PyObject *names = Py_None, *out;
    unsigned long long misses;
    uint32_t length;

    if (nargs < 2 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "record(index, data, names=None)");
        return NULL;
    }
    if (decoder_ready(self) < 0)
        return NULL;
    index = PyLong_AsSsize_t(args[0]);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    if (index < 0 || index >= self->ntables || !self->tables[index]->filled
        || self->tables[index]->record == NULL) {
        PyErr_Format(PyExc_IndexError, "record: no such record table %zd", index);
        return NULL;
    }
    if (nargs > 2)
        names = args[2];
    if (names != Py_None && !PyDict_CheckExact(names)) {
        PyErr_SetString(PyExc_TypeError, "record(): names must be a dict or None");
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len < MSG_HDRLEN + GENL_HDRLEN) {
        PyBuffer_Release(&view);
        Py_RETURN_NONE;
    }
    memcpy(&length, view.buf, 4);
    if (length < MSG_HDRLEN + GENL_HDRLEN || length > (uint64_t) view.len) {
        PyBuffer_Release(&view);
        Py_RETURN_NONE;
    }
    misses = self->misses;
    {
        Source src = {NULL, view.buf, view.len, 0, names == Py_None ? NULL : names, 0};

        out = walk_set(self, index, &src, view.buf, MSG_HDRLEN + GENL_HDRLEN, length, 0);
        source_release(&src);
    }
    PyBuffer_Release(&view);
    if (out == NULL) {
        if (!PyErr_ExceptionMatches(self->error))
            return NULL; /* not the message's fault (MemoryError): it goes up */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (self->misses != misses) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

static PyMethodDef Decoder_methods[] = {
    {"new_table", (PyCFunction) Decoder_new_table, METH_O,
     "new_table(is_struct) -> index of an empty table, filled later by fill()."},
    {"fill", (PyCFunction) (void (*)(void)) Decoder_fill, METH_VARARGS | METH_KEYWORDS,
     "fill(index, entries, post=None, name=None, size=0): a table's entries, once."},
    {"decode", (PyCFunction) (void (*)(void)) Decoder_decode, METH_FASTCALL,
     "decode(index, data, start=0, end=None, depth=0) -> the attributes as a dict."},
    {"decode_struct", (PyCFunction) (void (*)(void)) Decoder_decode_struct, METH_FASTCALL,
     "decode_struct(index, data, start=0, end=None, depth=0) -> a struct's members as a dict."},
    {"record", (PyCFunction) (void (*)(void)) Decoder_record, METH_FASTCALL,
     "record(index, data, names=None) -> what a record table makes of a message, or None."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Decoder_getset[] = {
    {"saw_unknown", (getter) Decoder_get_saw_unknown, (setter) Decoder_set_saw_unknown,
     "True once a decode met an attribute number its set lacks.", NULL},
    {"tables", (getter) Decoder_get_tables, NULL, "How many tables there are.", NULL},
    {"unknowns", (getter) Decoder_get_unknowns, NULL,
     "How many attributes its sets lack the decodes met, ever (a count, never reset).", NULL},
    {"misses", (getter) Decoder_get_misses, NULL,
     "How many record fields were named without the names they needed, ever (a count).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "libnl_py._codec.Decoder",
    .tp_basicsize = sizeof(Decoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Decoder(error, repeats): compiled attribute-set tables and the walker over them.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc) Decoder_init,
    .tp_dealloc = (destructor) Decoder_dealloc,
    .tp_traverse = (traverseproc) Decoder_traverse,
    .tp_clear = (inquiry) Decoder_clear,
    .tp_methods = Decoder_methods,
    .tp_getset = Decoder_getset,
};

/* ---- encoding: the common requests, in one call ------------------------------------------
 *
 * An Encoder holds one table per attribute set, by name: the kinds a request usually
 * carries (integers by value or by enum and flag names, strings, flags, bytes, nests,
 * repeats). encode() builds the attributes of a dict of such values, or gives up at the
 * first thing it does not do or doubt (a number key, a value of another type, a name the
 * enum lacks, a value out of range or failing a check, a size over 64 KiB) and returns
 * None: the Python encoder then encodes the whole request, and raises its own error for
 * whatever was wrong. So every error comes from the Python reference, and values either
 * encode to its bytes or go to it. */

enum { E_INT = 1, E_STRING, E_FLAG, E_BINARY, E_NEST, E_LAST };

typedef struct {
    uint16_t number;
    uint8_t op, width, flags, is_flags, multi;
    Py_ssize_t nest;      /* E_NEST: the nested set's table */
    PyObject *names;      /* E_INT: {name: value} of its enum, or {name: bit} of its flags */
    PyObject *low, *high; /* E_INT: min/max (None: the kind's range only);
                             E_STRING/E_BINARY: min-len/max-len */
} EncEntry;

typedef struct {
    int filled;
    PyObject *by_name; /* {name: index into entries} */
    EncEntry *entries;
    Py_ssize_t n;
} EncTable;

typedef struct {
    PyObject_HEAD
    EncTable **tables;
    Py_ssize_t ntables, cap;
} Encoder;

#define ENC_GIVE_UP 1 /* not on the common path: Python encodes */

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Out;

static int out_reserve(Out *o, Py_ssize_t more)
{
    if (o->len + more > o->cap) {
        Py_ssize_t cap = o->cap ? o->cap * 2 : 256;
        char *grown;

        while (cap < o->len + more)
            cap *= 2;
        grown = PyMem_Realloc(o->buf, (size_t) cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        o->buf = grown;
        o->cap = cap;
    }
    return 0;
}

/* One attribute: header, payload, zero padding. -1 error, ENC_GIVE_UP too long. */
static int out_attr(Out *o, unsigned type, const char *data, Py_ssize_t size)
{
    Py_ssize_t length = 4 + size, padded = (length + 3) & ~(Py_ssize_t) 3;
    uint16_t hdr[2];

    if (length > 0xFFFF)
        return ENC_GIVE_UP;
    if (out_reserve(o, padded) < 0)
        return -1;
    hdr[0] = (uint16_t) length;
    hdr[1] = (uint16_t) type;
    memcpy(o->buf + o->len, hdr, 4);
    if (size)
        memcpy(o->buf + o->len + 4, data, (size_t) size);
    memset(o->buf + o->len + length, 0, (size_t) (padded - length));
    o->len += padded;
    return 0;
}

/* value within [low, high] where given (None: no bound); ENC_GIVE_UP outside. */
static int within(PyObject *value, PyObject *low, PyObject *high)
{
    int ok;

    if (low != Py_None) {
        ok = PyObject_RichCompareBool(value, low, Py_GE);
        if (ok <= 0)
            return ok < 0 ? -1 : ENC_GIVE_UP;
    }
    if (high != Py_None) {
        ok = PyObject_RichCompareBool(value, high, Py_LE);
        if (ok <= 0)
            return ok < 0 ? -1 : ENC_GIVE_UP;
    }
    return 0;
}

static int encode_int(Out *o, const EncEntry *e, PyObject *value)
{
    unsigned char raw[8];
    int width = e->width, overflow = 0, i, rc;
    uint64_t bits;

    if (PyUnicode_CheckExact(value) && e->names != NULL && !e->is_flags) {
        value = PyDict_GetItemWithError(e->names, value); /* borrowed; the dict keeps it */
        if (value == NULL)
            return PyErr_Occurred() ? -1 : ENC_GIVE_UP;
    } else if ((PyList_CheckExact(value) || PyTuple_CheckExact(value)) && e->names != NULL
               && e->is_flags) {
        PyObject *seq = value;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), k;
        uint64_t mask = 0;

        for (k = 0; k < n; k++) {
            PyObject *name = PySequence_Fast_GET_ITEM(seq, k), *bit;
            long b;

            if (!PyUnicode_CheckExact(name))
                return ENC_GIVE_UP;
            bit = PyDict_GetItemWithError(e->names, name);
            if (bit == NULL)
                return PyErr_Occurred() ? -1 : ENC_GIVE_UP;
            b = PyLong_AsLong(bit);
            if (b < 0 || b > 63)
                return PyErr_Occurred() ? -1 : ENC_GIVE_UP;
            mask |= (uint64_t) 1 << b;
        }
        value = PyLong_FromUnsignedLongLong(mask);
        if (value == NULL)
            return -1;
        rc = encode_int(o, &(EncEntry){.number = e->number, .op = E_INT, .width = e->width,
                                       .flags = e->flags, .low = e->low, .high = e->high},
                        value);
        Py_DECREF(value);
        return rc;
    }
    if (!PyLong_CheckExact(value))
        return ENC_GIVE_UP;
    rc = within(value, e->low, e->high);
    if (rc)
        return rc;
    if (e->flags & F_SIGNED) {
        long long v = PyLong_AsLongLongAndOverflow(value, &overflow);

        if (overflow || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return ENC_GIVE_UP;
        }
        if (e->flags & F_VAR)
            width = v >= INT32_MIN && v <= INT32_MAX ? 4 : 8;
        else if (width < 8 && (v < -(1LL << (8 * width - 1)) || v > (1LL << (8 * width - 1)) - 1))
            return ENC_GIVE_UP;
        bits = (uint64_t) v;
    } else {
        unsigned long long v;

        v = PyLong_AsUnsignedLongLong(value); /* a negative one raises OverflowError */
        if (v == (unsigned long long) -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return ENC_GIVE_UP;
        }
        if (e->flags & F_VAR)
            width = v <= UINT32_MAX ? 4 : 8;
        else if (width < 8 && v >> (8 * width))
            return ENC_GIVE_UP;
        bits = v;
    }
    for (i = 0; i < width; i++) {
        int shift = (e->flags & F_BIG) || (PY_BIG_ENDIAN && !(e->flags & F_VAR))
                        ? 8 * (width - 1 - i)
                        : 8 * i;

        raw[i] = (unsigned char) (bits >> shift);
    }
    return out_attr(o, e->number, (const char *) raw, width);
}

static int encode_set(Encoder *self, Py_ssize_t index, PyObject *values, Out *o, int depth);

static int encode_one(Encoder *self, const EncEntry *e, PyObject *value, Out *o, int depth)
{
    switch (e->op) {
    case E_INT:
        return encode_int(o, e, value);
    case E_STRING: {
        PyObject *raw;
        Py_ssize_t size;
        int rc;

        if (!PyUnicode_CheckExact(value))
            return ENC_GIVE_UP;
        raw = PyUnicode_AsEncodedString(value, "utf-8", "surrogateescape");
        if (raw == NULL) {
            PyErr_Clear(); /* not encodable: Python says so */
            return ENC_GIVE_UP;
        }
        size = PyBytes_GET_SIZE(raw);
        rc = memchr(PyBytes_AS_STRING(raw), 0, (size_t) size) != NULL ? ENC_GIVE_UP : 0;
        if (!rc && (e->low != Py_None || e->high != Py_None)) {
            PyObject *n = PyLong_FromSsize_t(size);

            rc = n == NULL ? -1 : within(n, e->low, e->high);
            Py_XDECREF(n);
        }
        if (!rc) {
            /* The payload with its NUL: bytes objects end in one already. */
            rc = out_attr(o, e->number, PyBytes_AS_STRING(raw), size + 1);
        }
        Py_DECREF(raw);
        return rc;
    }
    case E_FLAG:
        if (value == Py_True)
            return out_attr(o, e->number, NULL, 0);
        return value == Py_False ? 0 : ENC_GIVE_UP;
    case E_BINARY: {
        const char *data;
        Py_ssize_t size;

        if (PyBytes_CheckExact(value)) {
            data = PyBytes_AS_STRING(value);
            size = PyBytes_GET_SIZE(value);
        } else if (PyByteArray_CheckExact(value)) {
            data = PyByteArray_AS_STRING(value);
            size = PyByteArray_GET_SIZE(value);
        } else {
            return ENC_GIVE_UP;
        }
        if (e->low != Py_None || e->high != Py_None) {
            PyObject *n = PyLong_FromSsize_t(size);
            int rc = n == NULL ? -1 : within(n, e->low, e->high);

            Py_XDECREF(n);
            if (rc)
                return rc;
        }
        return out_attr(o, e->number, data, size);
    }
    case E_NEST: {
        Py_ssize_t start = o->len, length;
        uint16_t hdr[2];
        int rc;

        if (!PyDict_CheckExact(value))
            return ENC_GIVE_UP;
        if (out_reserve(o, 4) < 0)
            return -1;
        o->len += 4;
        rc = encode_set(self, e->nest, value, o, depth + 1);
        if (rc)
            return rc;
        length = o->len - start;
        if (length > 0xFFFF)
            return ENC_GIVE_UP;
        hdr[0] = (uint16_t) length;
        hdr[1] = (uint16_t) (e->number | 0x8000); /* NLA_F_NESTED */
        memcpy(o->buf + start, hdr, 4);
        return 0;
    }
    default:
        return ENC_GIVE_UP;
    }
}

static int encode_set(Encoder *self, Py_ssize_t index, PyObject *values, Out *o, int depth)
{
    EncTable *t = self->tables[index];
    PyObject *key, *value;
    Py_ssize_t pos = 0;

    if (depth > MAX_DEPTH || !t->filled)
        return ENC_GIVE_UP;
    /* The dict is only read, and nothing here runs Python code that could change it
     * (exact ints, strs, lists and dicts compare and hash in C). */
    while (PyDict_Next(values, &pos, &key, &value)) {
        PyObject *found;
        const EncEntry *e;
        Py_ssize_t i;
        int rc;

        if (!PyUnicode_CheckExact(key))
            return ENC_GIVE_UP;
        found = PyDict_GetItemWithError(t->by_name, key);
        if (found == NULL)
            return PyErr_Occurred() ? -1 : ENC_GIVE_UP;
        i = PyLong_AsSsize_t(found);
        if (i < 0 || i >= t->n)
            return PyErr_Occurred() ? -1 : ENC_GIVE_UP;
        e = &t->entries[i];
        if (e->multi && (PyList_CheckExact(value) || PyTuple_CheckExact(value))) {
            Py_ssize_t k, n = PySequence_Fast_GET_SIZE(value);

            for (k = 0; k < n; k++) {
                rc = encode_one(self, e, PySequence_Fast_GET_ITEM(value, k), o, depth);
                if (rc)
                    return rc;
            }
            continue;
        }
        rc = encode_one(self, e, value, o, depth);
        if (rc)
            return rc;
    }
    return 0;
}

static PyObject *Encoder_new_table(Encoder *self, PyObject *unused)
{
    EncTable *table;

    if (self->ntables == self->cap) {
        Py_ssize_t cap = self->cap ? self->cap * 2 : 16;
        EncTable **grown = PyMem_Realloc(self->tables, (size_t) cap * sizeof(EncTable *));

        if (grown == NULL)
            return PyErr_NoMemory();
        self->tables = grown;
        self->cap = cap;
    }
    table = PyMem_Calloc(1, sizeof(EncTable));
    if (table == NULL)
        return PyErr_NoMemory();
    self->tables[self->ntables] = table;
    return PyLong_FromSsize_t(self->ntables++);
}

static void enc_table_clear(EncTable *t)
{
    Py_ssize_t i;

    for (i = 0; t->entries != NULL && i < t->n; i++) {
        Py_CLEAR(t->entries[i].names);
        Py_CLEAR(t->entries[i].low);
        Py_CLEAR(t->entries[i].high);
    }
    PyMem_Free(t->entries);
    t->entries = NULL;
    t->n = 0;
    Py_CLEAR(t->by_name);
}

/* fill(index, entries): (name, number, op, width, flags, names, is_flags, multi, nest, low,
 * high) for each attribute the encoder does itself. Once. */
static PyObject *Encoder_fill(Encoder *self, PyObject *args)
{
    Py_ssize_t index, i, n;
    PyObject *entries, *seq, *by_name;
    EncTable *t;
    EncEntry *built;

    if (!PyArg_ParseTuple(args, "nO:fill", &index, &entries))
        return NULL;
    if (index < 0 || index >= self->ntables) {
        PyErr_SetString(PyExc_IndexError, "no such encoder table");
        return NULL;
    }
    t = self->tables[index];
    if (t->filled) {
        PyErr_SetString(PyExc_ValueError, "encoder table already filled");
        return NULL;
    }
    seq = PySequence_Tuple(entries); /* its own copy, as Decoder.fill */
    if (seq == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    built = PyMem_Calloc(n ? (size_t) n : 1, sizeof(EncEntry));
    by_name = PyDict_New();
    if (built == NULL || by_name == NULL) {
        PyMem_Free(built);
        Py_XDECREF(by_name);
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (i = 0; i < n; i++) {
        PyObject *name, *names, *low, *high, *pos;
        int number, op, width, flags, is_flags, multi;
        Py_ssize_t nest;
        EncEntry *e = &built[i];

        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i),
                              "UiiiiOiinOO;an encoder entry is an 11-tuple", &name, &number, &op,
                              &width, &flags, &names, &is_flags, &multi, &nest, &low, &high))
            goto fail;
        if (number < 0 || number > TYPE_MASK || op < E_INT || op >= E_LAST
            || (op == E_INT && !(flags & F_VAR) && width != 1 && width != 2 && width != 4
                && width != 8)
            || (op == E_NEST && (nest < 0 || nest >= self->ntables))
            || (names != Py_None && !PyDict_Check(names))) {
            PyErr_SetString(PyExc_ValueError, "encoder entry out of range");
            goto fail;
        }
        e->number = (uint16_t) number;
        e->op = (uint8_t) op;
        e->width = (uint8_t) width;
        e->flags = (uint8_t) flags;
        e->is_flags = is_flags != 0;
        e->multi = multi != 0;
        e->nest = nest;
        if (names != Py_None) {
            Py_INCREF(names);
            e->names = names;
        }
        Py_INCREF(low);
        e->low = low;
        Py_INCREF(high);
        e->high = high;
        pos = PyLong_FromSsize_t(i);
        if (pos == NULL || PyDict_SetItem(by_name, name, pos) < 0) {
            Py_XDECREF(pos);
            goto fail;
        }
        Py_DECREF(pos);
    }
    Py_DECREF(seq);
    t->entries = built;
    t->n = n;
    t->by_name = by_name;
    t->filled = 1;
    Py_RETURN_NONE;
fail:
    for (i = 0; i < n; i++) {
        Py_CLEAR(built[i].names);
        Py_CLEAR(built[i].low);
        Py_CLEAR(built[i].high);
    }
    PyMem_Free(built);
    Py_DECREF(by_name);
    Py_DECREF(seq);
    return NULL;
}

/* encode(index, values) -> bytes, or None where Python must encode (see above). */
static PyObject *Encoder_encode(Encoder *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t index;
    Out o = {NULL, 0, 0};
    PyObject *result;
    int rc;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "encode(index, values)");
        return NULL;
    }
    index = PyLong_AsSsize_t(args[0]);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    if (index < 0 || index >= self->ntables) {
        PyErr_SetString(PyExc_IndexError, "no such encoder table");
        return NULL;
    }
    if (!PyDict_CheckExact(args[1]))
        Py_RETURN_NONE;
    rc = encode_set(self, index, args[1], &o, 0);
    if (rc < 0) {
        PyMem_Free(o.buf);
        return NULL;
    }
    result = rc ? (Py_INCREF(Py_None), Py_None) : PyBytes_FromStringAndSize(o.buf ? o.buf : "", o.len);
    PyMem_Free(o.buf);
    return result;
}

static int Encoder_traverse(Encoder *self, visitproc visit, void *arg)
{
    Py_ssize_t i, j;

    for (i = 0; i < self->ntables; i++) {
        EncTable *t = self->tables[i];

        Py_VISIT(t->by_name);
        for (j = 0; t->entries != NULL && j < t->n; j++) {
            Py_VISIT(t->entries[j].names);
            Py_VISIT(t->entries[j].low);
            Py_VISIT(t->entries[j].high);
        }
    }
    return 0;
}

static int Encoder_clear(Encoder *self)
{
    EncTable **tables = self->tables;
    Py_ssize_t i, n = self->ntables;

    self->tables = NULL; /* detached first, as Decoder_clear */
    self->ntables = self->cap = 0;
    for (i = 0; i < n; i++) {
        enc_table_clear(tables[i]);
        PyMem_Free(tables[i]);
    }
    PyMem_Free(tables);
    return 0;
}

static void Encoder_dealloc(Encoder *self)
{
    PyObject_GC_UnTrack(self);
    Encoder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *) self);
}

static PyMethodDef Encoder_methods[] = {
    {"new_table", (PyCFunction) Encoder_new_table, METH_NOARGS,
     "new_table() -> index of an empty table, filled later by fill()."},
    {"fill", (PyCFunction) Encoder_fill, METH_VARARGS,
     "fill(index, entries): the attributes of a set this encoder encodes itself, once."},
    {"encode", (PyCFunction) (void (*)(void)) Encoder_encode, METH_FASTCALL,
     "encode(index, values) -> the attributes as bytes, or None where Python must encode."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "libnl_py._codec.Encoder",
    .tp_basicsize = sizeof(Encoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Encoder(): attribute-set tables for the common requests, encoded in one call.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor) Encoder_dealloc,
    .tp_traverse = (traverseproc) Encoder_traverse,
    .tp_clear = (inquiry) Encoder_clear,
    .tp_methods = Encoder_methods,
};

int messages_add(PyObject *module); /* messages.c */

static int decoder_exec(PyObject *module)
{
    if (messages_add(module) < 0)
        return -1;
    if (PyType_Ready(&DecoderType) < 0)
        return -1;
    Py_INCREF(&DecoderType);
    if (PyModule_AddObject(module, "Decoder", (PyObject *) &DecoderType) < 0) {
        Py_DECREF(&DecoderType);
        return -1;
    }
    if (PyType_Ready(&EncoderType) < 0)
        return -1;
    Py_INCREF(&EncoderType);
    if (PyModule_AddObject(module, "Encoder", (PyObject *) &EncoderType) < 0) {
        Py_DECREF(&EncoderType);
        return -1;
    }
#define ADD(name) \
    if (PyModule_AddIntConstant(module, #name, name) < 0) \
        return -1;
    ADD(OP_SKIP) ADD(OP_INT) ADD(OP_STRING) ADD(OP_FLAG) ADD(OP_BINARY) ADD(OP_NEST)
    ADD(OP_ARRAY) ADD(OP_STRUCT) ADD(OP_INDEXED) ADD(OP_PYTHON)
    ADD(MAP_NONE) ADD(MAP_ENUM) ADD(MAP_FLAGS) ADD(MAP_IPV4)
    ADD(MULTI_ONE) ADD(MULTI_LIST) ADD(MULTI_NUMBERED)
    ADD(F_SIGNED) ADD(F_BIG) ADD(F_VAR) ADD(MAX_DEPTH)
    ADD(E_INT) ADD(E_STRING) ADD(E_FLAG) ADD(E_BINARY) ADD(E_NEST)
    ADD(FIELD_VALUE) ADD(FIELD_REQUIRED) ADD(FIELD_NAME)
#undef ADD
    return 0;
}

static PyMethodDef decoder_functions[] = {
    {"decode_replies", (PyCFunction) (void (*)(void)) decoder_decode_replies, METH_FASTCALL,
     "decode_replies(decoder, view, desc, reply_kind, lookup, hdrsize, out, pending)"
     " -> (rest, flags, count): a receive batch's replies, decoded."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot decoder_slots[] = {
    {Py_mod_exec, decoder_exec},
    {0, NULL},
};

static struct PyModuleDef decoder_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "libnl_py._codec",
    .m_doc = "The C accelerator of libnl_py.spec.codec's decoder (the Python codec is the "
             "reference).",
    .m_size = 0,
    .m_methods = decoder_functions,
    .m_slots = decoder_slots,
};

PyMODINIT_FUNC PyInit__codec(void)
{
    return PyModuleDef_Init(&decoder_module);
}
