"""Thin checked wrappers: one small function per libnl call.

Each allocates what the call needs, calls it through ``libnl_py._ffi``, and
turns a negative return into an exception through
:func:`libnl_py.errors.check`. No state lives here; the classes people use
(:class:`libnl_py.Socket`, :class:`libnl_py.genl.GenlSocket`) own the pointers.
"""
