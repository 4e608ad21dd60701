"""cffi builder for ``libnl_py._libnl`` (out-of-line API mode).

The declarations live in ``decl/*.h``, one file per libnl header, joined in the
order of ``DECLARATIONS`` (types first, since every other file uses them).
libnl is found with pkg-config; ``LIBNL_CFLAGS`` and ``LIBNL_LIBS`` override
that for a libnl installed elsewhere (for example
``LIBNL_CFLAGS=-I/opt/libnl/include/libnl3 LIBNL_LIBS="-L/opt/libnl/lib -lnl-genl-3 -lnl-3"``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
DECL_DIR = HERE / "decl"

# Types first: every later file refers to them. Then one file per libnl
# header, lowest layer first, and last the C helpers written for this project.
DECLARATIONS = (
    "00-types.h",
    "errno.h",
    "version.h",
    "socket.h",
    "netlink.h",
    "msg.h",
    "attr.h",
    "handlers.h",
    "genl.h",
    "ctrl.h",
    "helpers.h",
)

# The C written for this project, compiled into the module after the headers:
# the helpers cffi calls. Plain C: what builds Python values from C data is
# libnl_py._codec's (csrc/), a CPython extension of its own.
C_SOURCES = ("helpers.c",)

PKG_CONFIG_PACKAGES = ("libnl-3.0", "libnl-genl-3.0")

INSTALL_HINT = (
    "libnl-py needs the libnl-3 and libnl-genl-3 development headers and pkg-config.\n"
    "  Debian/Ubuntu: apt-get install libnl-3-dev libnl-genl-3-dev pkg-config\n"
    "  Fedora/RHEL:   dnf install libnl3-devel pkgconf-pkg-config\n"
    "For a libnl installed elsewhere set LIBNL_CFLAGS and LIBNL_LIBS, or PKG_CONFIG_PATH."
)

HEADERS = """
#include <stdlib.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <netlink/version.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/ctrl.h>
#include <netlink/cache.h>
"""

# Names that only some libnl releases have: compiled as HAS_* flags (and
# harmless stand-ins) so one build works against libnl 3.7 and newer.
CUSTOMIZATIONS = """
#ifdef NLE_HOSTUNREACH
#define HAS_NLE_HOSTUNREACH 1
#else
#define HAS_NLE_HOSTUNREACH 0
#define NLE_HOSTUNREACH 0
#endif

#ifdef NLE_NETDOWN
#define HAS_NLE_NETDOWN 1
#else
#define HAS_NLE_NETDOWN 0
#define NLE_NETDOWN 0
#endif

#if LIBNL_VER_NUM >= LIBNL_VER(3, 11)
#define HAS_NLA_UINT 1
#else
#define HAS_NLA_UINT 0
static uint64_t (*const nla_get_uint)(const struct nlattr *) = NULL;
static int (*const nla_put_uint)(struct nl_msg *, int, uint64_t) = NULL;
static int64_t (*const nla_get_sint)(const struct nlattr *) = NULL;
static int (*const nla_put_sint)(struct nl_msg *, int, int64_t) = NULL;
#endif

#ifndef NLM_F_BULK
#define NLM_F_BULK 0x200
#endif
"""


def _pkg_config(*args: str) -> list[str]:
    if shutil.which("pkg-config") is None:
        raise RuntimeError("pkg-config not found")
    out = subprocess.run(
        ["pkg-config", *args, *PKG_CONFIG_PACKAGES],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return shlex.split(out)


def _fallback_flags() -> tuple[list[str], list[str]]:
    for include in ("/usr/include/libnl3", "/usr/local/include/libnl3"):
        if Path(include, "netlink", "netlink.h").exists():
            return [f"-I{include}"], ["-lnl-genl-3", "-lnl-3"]
    raise RuntimeError(
        "libnl-3 headers in neither /usr/include/libnl3 nor /usr/local/include/libnl3"
    )


def compiler_flags() -> tuple[list[str], list[str]]:
    """Return (cflags, libs) for libnl-3 and libnl-genl-3."""
    env_cflags = os.environ.get("LIBNL_CFLAGS")
    env_libs = os.environ.get("LIBNL_LIBS")
    if env_cflags is not None or env_libs is not None:
        return shlex.split(env_cflags or ""), shlex.split(env_libs or "-lnl-genl-3 -lnl-3")
    try:
        return _pkg_config("--cflags"), _pkg_config("--libs")
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        try:
            return _fallback_flags()
        except RuntimeError:
            raise SystemExit(f"error: libnl not found ({exc}).\n{INSTALL_HINT}") from None


def _split(flags: list[str], prefix: str) -> tuple[list[str], list[str]]:
    picked = [f[len(prefix) :] for f in flags if f.startswith(prefix)]
    rest = [f for f in flags if not f.startswith(prefix)]
    return picked, rest


def cdef_text() -> str:
    return "\n".join((DECL_DIR / name).read_text() for name in DECLARATIONS)


def make_builder() -> FFI:
    cflags, libs = compiler_flags()
    include_dirs, extra_compile = _split(cflags, "-I")
    library_dirs, rest = _split(libs, "-L")
    libraries, extra_link = _split(rest, "-l")
    builder = FFI()
    builder.cdef(cdef_text())
    builder.set_source(
        "libnl_py._libnl",
        HEADERS + CUSTOMIZATIONS + "".join((DECL_DIR / name).read_text() for name in C_SOURCES),
        include_dirs=include_dirs,
        library_dirs=library_dirs,
        libraries=libraries,
        extra_compile_args=extra_compile,
        extra_link_args=extra_link,
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(HERE), verbose="-v" in sys.argv)
