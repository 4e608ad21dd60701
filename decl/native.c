
/* ---- libnl-py native functions (installed by lnp_native_install) ----
 *
 * cffi calls C with the GIL released and cannot hand Python objects back, so
 * building many Python values from C data would cost a Python step per value.
 * These few functions are plain CPython builtins compiled into this same
 * module instead: they take and return Python objects and run with the GIL
 * held. lnp_native_install (a cffi function, declared in helpers.h) puts them
 * into a dict that libnl_py._ffi passes by address; nothing else in the
 * package reaches them except through libnl_py._ffi.native.
 *
 * The decoders build on lnp_parse_family, so there is one attribute walker.
 */
#ifndef PYPY_VERSION

/* Set by configure_families(): the named tuple classes, and where operation
 * names come from (a dict family name -> {op id: name}, filled on demand by
 * calling lnp_names_load(name)). Strong references, kept for the process. */
static PyObject *lnp_family_type, *lnp_op_type, *lnp_group_type;
static PyObject *lnp_names_cache, *lnp_names_load;


/* An instance of the tuple subclass `type` with n slots, to be filled with
 * PyTuple_SET_ITEM before any Python code runs. */
static PyObject *lnp_new_tuple(PyObject *type, Py_ssize_t n)
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

static PyObject *lnp_str(const uint8_t *buf, uint32_t off, uint32_t len)
{
    return PyUnicode_DecodeUTF8((const char *) buf + off, (Py_ssize_t) len, "surrogateescape");
}

/* names[op_id], or None; a new reference, NULL with an exception set. */
static PyObject *lnp_op_name(PyObject *names, PyObject *op_id)
{
    PyObject *name;

    if (names == Py_None)
        Py_RETURN_NONE;
    if (PyDict_CheckExact(names)) {
        name = PyDict_GetItemWithError(names, op_id);
        if (name == NULL) {
            if (PyErr_Occurred())
                return NULL;
            Py_RETURN_NONE;
        }
        Py_INCREF(name);
        return name;
    }
    name = PyObject_GetItem(names, op_id);
    if (name == NULL && PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return name;
}

/* The operation names for family `name`: from the cache, else from the loader
 * (which fills the cache). A new reference, NULL with an exception set. */
static PyObject *lnp_names_for(PyObject *name)
{
    PyObject *names = PyDict_GetItemWithError(lnp_names_cache, name), *load;

    if (names != NULL) {
        Py_INCREF(names);
        return names;
    }
    if (PyErr_Occurred())
        return NULL;
    load = lnp_names_load; /* held: the loader may reconfigure */
    Py_INCREF(load);
    names = PyObject_CallFunctionObjArgs(load, name, NULL);
    Py_DECREF(load);
    return names;
}

/* The longest message span taken: lnp_parse_family's int offsets stay far
 * from overflow. */
#define LNP_SPAN_MAX (INT_MAX / 2)

/* Descriptor i of the list desc (lnp_recv_batch's words) into d, read into C
 * before any Python code runs. 0, or -1 with an exception set. */
static int lnp_read_desc(PyObject *desc, Py_ssize_t i, unsigned long d[LNP_DESC_WORDS])
{
    int k;

    for (k = 0; k < LNP_DESC_WORDS; k++) {
        d[k] = PyLong_AsUnsignedLong(PyList_GET_ITEM(desc, i + k));
        if (d[k] == (unsigned long) -1 && PyErr_Occurred())
            return -1;
    }
    return 0;
}

/* Whether descriptor d's span [start, end) lies in a buffer of len bytes;
 * 0 with ValueError set if not. */
static int lnp_desc_span_ok(const unsigned long d[LNP_DESC_WORDS], Py_ssize_t len)
{
    if (d[5] > (unsigned long) len || d[6] > (unsigned long) len || d[6] < d[5] ||
        d[6] - d[5] > LNP_SPAN_MAX) {
        PyErr_SetString(PyExc_ValueError, "descriptor span outside the buffer");
        return 0;
    }
    return 1;
}

/* One Family from the words lnp_parse_family wrote for the message at buf
 * (offsets relative to it). op_names: a mapping, None for no names, or NULL
 * for the registry's. Every value is made first (the name lookups may run
 * Python code), then the tuples are allocated and filled with no Python code
 * in between, so no half-filled tuple is ever visible. */
static PyObject *lnp_build_family(const uint8_t *buf, const uint32_t *w, PyObject *op_names)
{
    uint32_t n_ops = w[6], n_groups = w[7], i;
    const uint32_t *op = w + LNP_FAMILY_HEAD, *grp = op + 2 * n_ops;
    PyObject *op_vals[3 * LNP_MAX_OPS], *grp_vals[2 * LNP_MAX_GROUPS], *head[5];
    PyObject *names = NULL, *ops = NULL, *groups = NULL, *family = NULL;
    Py_ssize_t made_ops = 0, made_grps = 0, k;
    int made_head = 0;

    if (n_ops > LNP_MAX_OPS || n_groups > LNP_MAX_GROUPS) {
        PyErr_SetString(PyExc_ValueError, "too many operations or groups");
        return NULL;
    }
    /* head: name, id, version, hdrsize, maxattr */
    head[0] = lnp_str(buf, w[4], w[5]);
    head[1] = PyLong_FromUnsignedLong(w[0]);
    head[2] = PyLong_FromUnsignedLong(w[1]);
    head[3] = PyLong_FromUnsignedLong(w[2]);
    head[4] = PyLong_FromUnsignedLong(w[3]);
    made_head = 1;
    for (k = 0; k < 5; k++)
        if (head[k] == NULL)
            goto out;
    if (op_names != NULL) {
        names = op_names;
        Py_INCREF(names);
    } else if ((names = lnp_names_for(head[0])) == NULL) {
        goto out;
    }
    for (i = 0; i < n_ops; i++, made_ops++) {
        PyObject **v = op_vals + 3 * i;

        v[0] = PyLong_FromUnsignedLong(op[2 * i]);
        v[1] = PyLong_FromUnsignedLong(op[2 * i + 1]);
        v[2] = v[0] != NULL ? lnp_op_name(names, v[0]) : NULL;
        if (v[0] == NULL || v[1] == NULL || v[2] == NULL) {
            made_ops++;
            goto out;
        }
    }
    for (i = 0; i < n_groups; i++, made_grps++) {
        PyObject **v = grp_vals + 2 * i;

        v[0] = lnp_str(buf, grp[3 * i + 1], grp[3 * i + 2]);
        v[1] = PyLong_FromUnsignedLong(grp[3 * i]);
        if (v[0] == NULL || v[1] == NULL) {
            made_grps++;
            goto out;
        }
    }
    /* From here on only allocations: no Python code runs. */
    if ((ops = PyTuple_New((Py_ssize_t) n_ops)) == NULL ||
        (groups = PyTuple_New((Py_ssize_t) n_groups)) == NULL)
        goto out;
    for (i = 0; i < n_ops; i++) {
        PyObject *o = lnp_new_tuple(lnp_op_type, 3);

        if (o == NULL)
            goto out;
        for (k = 0; k < 3; k++) {
            PyTuple_SET_ITEM(o, k, op_vals[3 * i + k]);
            op_vals[3 * i + k] = NULL;
        }
        PyTuple_SET_ITEM(ops, i, o);
    }
    for (i = 0; i < n_groups; i++) {
        PyObject *g = lnp_new_tuple(lnp_group_type, 2);

        if (g == NULL)
            goto out;
        for (k = 0; k < 2; k++) {
            PyTuple_SET_ITEM(g, k, grp_vals[2 * i + k]);
            grp_vals[2 * i + k] = NULL;
        }
        PyTuple_SET_ITEM(groups, i, g);
    }
    if ((family = lnp_new_tuple(lnp_family_type, 7)) == NULL)
        goto out;
    PyTuple_SET_ITEM(family, 0, head[1]);
    PyTuple_SET_ITEM(family, 1, head[0]);
    PyTuple_SET_ITEM(family, 2, head[2]);
    PyTuple_SET_ITEM(family, 3, head[3]);
    PyTuple_SET_ITEM(family, 4, head[4]);
    PyTuple_SET_ITEM(family, 5, ops);
    PyTuple_SET_ITEM(family, 6, groups);
    made_head = 0;
    ops = groups = NULL; /* now the family's */
out:
    /* Values not (yet) moved into a tuple are ours to drop. */
    for (k = 0; k < 3 * made_ops; k++)
        Py_XDECREF(op_vals[k]);
    for (k = 0; k < 2 * made_grps; k++)
        Py_XDECREF(grp_vals[k]);
    if (made_head)
        for (k = 0; k < 5; k++)
            Py_XDECREF(head[k]);
    Py_XDECREF(names);
    Py_XDECREF(ops);
    Py_XDECREF(groups);
    return family;
}

static int lnp_configured(void)
{
    if (lnp_family_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "configure_families() has not been called");
        return 0;
    }
    return 1;
}

/* A message span [start, end) of buf, checked; 0 with an exception set if not. */
static int lnp_span(Py_buffer *view, PyObject *start_obj, PyObject *end_obj, Py_ssize_t *start,
                    Py_ssize_t *end)
{
    *start = PyLong_AsSsize_t(start_obj);
    if (*start == -1 && PyErr_Occurred())
        return 0;
    *end = PyLong_AsSsize_t(end_obj);
    if (*end == -1 && PyErr_Occurred())
        return 0;
    if (*start < 0 || *end < *start || *end > view->len || *end - *start > LNP_SPAN_MAX) {
        PyErr_Format(PyExc_ValueError, "span [%zd, %zd) outside a buffer of %zd bytes", *start,
                     *end, view->len);
        return 0;
    }
    return 1;
}

/* family(buf, start, end, op_names) -> Family | None
 *
 * The CTRL_CMD_NEWFAMILY message buf[start:end] (headers included) as a
 * Family, or None when its attributes do not parse or it has no name (the
 * Python decoder then names the fault). op_names None: the registry's names. */
static PyObject *lnp_py_family(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint32_t words[LNP_WORDS_MAX];
    Py_buffer view;
    Py_ssize_t start, end;
    PyObject *result = NULL;
    int n;

    (void) self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "family() takes 4 arguments");
        return NULL;
    }
    if (!lnp_configured() || PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!lnp_span(&view, args[1], args[2], &start, &end))
        goto out;
    n = lnp_parse_family((const char *) view.buf + start, (int) (end - start), words,
                         LNP_WORDS_MAX);
    if (n < 0 || words[5] == 0) {
        result = Py_None;
        Py_INCREF(result);
        goto out;
    }
    result = lnp_build_family((const uint8_t *) view.buf + start, words,
                              args[3] == Py_None ? NULL : args[3]);
out:
    PyBuffer_Release(&view);
    return result;
}

/* families(buf, desc, kind, out) -> (rest, flags, failed)
 *
 * desc: the 8-word descriptors of a batch (lnp_recv_batch). Every message of
 * kind `kind` is decoded as a Family and appended to the list out (a message
 * that does not decode is appended as bytes, and counted in failed). rest is
 * the descriptors of the other messages; flags the OR of the decoded
 * messages' nlmsg_flags. */
static PyObject *lnp_py_families(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint32_t words[LNP_WORDS_MAX];
    Py_buffer view;
    PyObject *desc, *out, *rest = NULL, *result = NULL;
    Py_ssize_t i;
    unsigned long kind, flags = 0, failed = 0;

    (void) self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "families() takes 4 arguments");
        return NULL;
    }
    desc = args[1];
    out = args[3];
    if (!PyList_Check(desc) || !PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "families() needs lists for desc and out");
        return NULL;
    }
    kind = PyLong_AsUnsignedLong(args[2]);
    if (kind == (unsigned long) -1 && PyErr_Occurred())
        return NULL;
    if (PyList_GET_SIZE(desc) % LNP_DESC_WORDS || out == desc) {
        PyErr_SetString(PyExc_ValueError, "desc must be whole descriptors, and not out");
        return NULL;
    }
    if (!lnp_configured() || PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if ((rest = PyList_New(0)) == NULL)
        goto out;
    /* The words are read into C first: the names loader runs Python code. */
    for (i = 0; i + LNP_DESC_WORDS <= PyList_GET_SIZE(desc); i += LNP_DESC_WORDS) {
        unsigned long d[LNP_DESC_WORDS];
        Py_ssize_t start, end;
        PyObject *family;
        int n, k;

        if (lnp_read_desc(desc, i, d) < 0)
            goto out;
        if (d[0] != kind) {
            for (k = 0; k < LNP_DESC_WORDS; k++) {
                PyObject *v = PyLong_FromUnsignedLong(d[k]);

                if (v == NULL || PyList_Append(rest, v) < 0) {
                    Py_XDECREF(v);
                    goto out;
                }
                Py_DECREF(v);
            }
            continue;
        }
        if (!lnp_desc_span_ok(d, view.len))
            goto out;
        start = (Py_ssize_t) d[5];
        end = (Py_ssize_t) d[6];
        flags |= d[2];
        n = lnp_parse_family((const char *) view.buf + start, (int) (end - start), words,
                             LNP_WORDS_MAX);
        if (n < 0 || words[5] == 0) {
            failed++;
            family = PyBytes_FromStringAndSize((const char *) view.buf + start, end - start);
        } else {
            family = lnp_build_family((const uint8_t *) view.buf + start, words, NULL);
        }
        if (family == NULL)
            goto out;
        k = PyList_Append(out, family);
        Py_DECREF(family);
        if (k < 0)
            goto out;
    }
    result = Py_BuildValue("(Okk)", rest, flags, failed);
out:
    Py_XDECREF(rest);
    PyBuffer_Release(&view);
    return result;
}

/* Whether `obj` is a named tuple class with `fields` fields: a heap type
 * deriving directly from tuple, with tuple's layout (no extra slots, no
 * __dict__, unlike a struct sequence) and `fields` names in _fields. 0 with
 * TypeError set if not. */
static int lnp_is_named_tuple(PyObject *obj, Py_ssize_t fields)
{
    PyTypeObject *tp = (PyTypeObject *) obj;
    PyObject *names;
    int ok;

    if (!PyType_Check(obj) || tp->tp_base != &PyTuple_Type ||
        !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) || tp->tp_basicsize != PyTuple_Type.tp_basicsize ||
        tp->tp_itemsize != PyTuple_Type.tp_itemsize || tp->tp_dictoffset != 0) {
        PyErr_SetString(PyExc_TypeError, "configure_families() needs named tuple classes");
        return 0;
    }
    names = PyObject_GetAttrString(obj, "_fields");
    if (names == NULL) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "configure_families() needs named tuple classes");
        return 0;
    }
    ok = PyTuple_Check(names) && PyTuple_GET_SIZE(names) == fields;
    Py_DECREF(names);
    if (!ok)
        PyErr_Format(PyExc_TypeError, "configure_families(): a class needs %zd fields", fields);
    return ok;
}

/* configure_families(Family, Operation, MulticastGroup, names_cache, names_load) */
static PyObject *lnp_py_configure_families(PyObject *self, PyObject *const *args,
                                           Py_ssize_t nargs)
{
    int i;

    (void) self;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "configure_families() takes 5 arguments");
        return NULL;
    }
    for (i = 0; i < 3; i++) {
        if (!lnp_is_named_tuple(args[i], i == 0 ? 7 : i == 1 ? 3 : 2))
            return NULL;
    }
    if (!PyDict_CheckExact(args[3]) || !PyCallable_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "configure_families() needs a dict and a callable");
        return NULL;
    }
    Py_INCREF(args[0]);
    Py_XSETREF(lnp_family_type, args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(lnp_op_type, args[1]);
    Py_INCREF(args[2]);
    Py_XSETREF(lnp_group_type, args[2]);
    Py_INCREF(args[3]);
    Py_XSETREF(lnp_names_cache, args[3]);
    Py_INCREF(args[4]);
    Py_XSETREF(lnp_names_load, args[4]);
    Py_RETURN_NONE;
}

static PyMethodDef lnp_native_methods[] = {
    {"configure_families", (PyCFunction) (void (*)(void)) lnp_py_configure_families,
     METH_FASTCALL, "Set the classes and operation-name source the family decoders use."},
    {"family", (PyCFunction) (void (*)(void)) lnp_py_family, METH_FASTCALL,
     "family(buf, start, end, op_names) -> Family | None"},
    {"families", (PyCFunction) (void (*)(void)) lnp_py_families, METH_FASTCALL,
     "families(buf, desc, kind, out) -> (rest, flags, failed)"},
    {NULL, NULL, 0, NULL},
};

static int lnp_native_install(void *namespace)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *dict = (PyObject *) namespace;
    PyMethodDef *def;
    int rc = 0;

    if (!PyDict_CheckExact(dict)) {
        rc = -1;
        goto out;
    }
    for (def = lnp_native_methods; def->ml_name != NULL; def++) {
        PyObject *func = PyCFunction_NewEx(def, NULL, NULL);

        if (func == NULL || PyDict_SetItemString(dict, def->ml_name, func) < 0) {
            Py_XDECREF(func);
            PyErr_Clear();
            rc = -1;
            goto out;
        }
        Py_DECREF(func);
    }
out:
    PyGILState_Release(gil);
    return rc;
}

#else /* PyPy: no CPython API; libnl_py._ffi refuses to import. */

static int lnp_native_install(void *namespace)
{
    (void) namespace;
    return -1;
}

#endif
