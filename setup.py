import platform

from setuptools import Extension, setup

# libnl_py._codec: the CPython-API accelerator of libnl_py.spec.codec and the maker of
# received messages, kept apart from the cffi binding of libnl. Without it (PyPy) the
# codec decodes, and messages are made, in Python.
DECODER = Extension(
    "libnl_py._codec",
    ["csrc/codec.c", "csrc/messages.c"],
    depends=["csrc/words.h"],
    extra_compile_args=["-O2"],
)

setup(
    cffi_modules=["build_libnl.py:ffibuilder"],
    ext_modules=[] if platform.python_implementation() == "PyPy" else [DECODER],
)
