"""Sphinx configuration for libnl-py's documentation (``make docs``).

The API reference is autodoc over the *installed* package (``make docs``
installs it into ``.venv`` first and runs Sphinx with ``python -I``, so the
source folder, which has no compiled module, is never imported). The local
extension in ``_ext/`` generates what must follow the code: the table of
``NLE_*`` codes and exception classes, the list of each package's re-exported
names, and a check that every name in a public module's ``__all__`` is in the
API reference.
"""

from __future__ import annotations

import os
import sys

import libnl_py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "libnl-py"
author = "the libnl-py authors"
copyright = "the libnl-py authors; LGPL-2.1-or-later"
release = version = libnl_py.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "libnl_py_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
# Every reference must resolve (CI builds with -W -n); what is allowed to
# stay unlinked (the standard library: no inventory is reachable offline) is
# decided in _ext/libnl_py_docs.py, one rule, not a list of exceptions.
nitpicky = True

myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

autodoc_member_order = "bysource"
autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "show-inheritance": True,
}
# Defaults as written in the source (SOCKET_TIMEOUT, DEFAULT_RCVBUF), not
# their repr.
autodoc_preserve_defaults = True
# Keep the names of the public type aliases in signatures instead of
# expanding them into the unions they stand for (each name links to its entry).
autodoc_type_aliases = {name: name for name in ("Timeout", "RequestAttrs", "FamilyRef")}

html_theme = "furo"
html_title = f"libnl-py {release}"
html_show_sourcelink = False
pygments_style = "sphinx"
html_static_path = ["_static"]
html_css_files = ["libnl-py.css"]
