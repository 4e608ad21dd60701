from setuptools import setup

setup(cffi_modules=["build_libnl.py:ffibuilder"])
