"""The compiled scanner core: setuptools builds it at ``pip install`` (``make venv``); everything else is in
pyproject.toml. gcc and the Python headers are all it needs (Debian: build-essential, python3-dev)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("gate.extract.network._hostcore", ["gate/extract/network/_hostcore.c"],
                             extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"])])
