# Set-up, run and test libnl-py on a Debian/Ubuntu machine.
#
#   sudo make run    system packages, .venv with the package installed, then `python -m libnl_py`
#   sudo make test   system packages, .venv, then the test suite against the installed package
#
# Root is needed for apt-get and for the netlink calls the tests make.

PYTHON    ?= python3
VENV      ?= .venv
EXTRAS    ?= test
MAIN_ARGS ?= families
PYTEST_ARGS ?= -q

APT_PACKAGES := libnl-3-dev libnl-genl-3-dev libnl-utils pkg-config iproute2 gcc valgrind \
                python3-dev python3-venv
# The kernel's YNL specs (tests load every one of them): Debian 12 has this
# package; where apt has no such package it is skipped, and so are those tests.
DOC_PACKAGES := linux-doc-6.12

VPY := $(VENV)/bin/python
# -I: never put the current directory on sys.path, so ./libnl_py (the source
# folder) cannot shadow the installed package.
VRUN := $(abspath $(VPY)) -I
PIP := $(VPY) -m pip --disable-pip-version-check

.PHONY: help deps venv run test lint docs sdist wheel clean

help:
	@echo "make run     install system packages and .venv, then run python -m libnl_py (needs root)"
	@echo "make test    install system packages and .venv, then run the tests (needs root)"
	@echo "make lint    mypy --strict and ruff (installs both into .venv)"
	@echo "make docs    the documentation, into docs/_build/html (warnings are errors)"
	@echo "make deps    apt-get the libnl headers, pkg-config, gcc, Python headers (root only)"
	@echo "make venv    create .venv if missing and (re)install the package from this checkout"
	@echo "make sdist | wheel | clean"

# The apt step is skipped when every package is already installed, so a
# second run does not wait for apt-get update.
deps:
	@if [ "$$(id -u)" != 0 ]; then \
	    echo "deps: not root, skipping system packages (use: sudo make $(or $(MAKECMDGOALS),deps))"; \
	    exit 0; \
	fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "deps: no apt-get; install the libnl-3 and libnl-genl-3 headers, pkg-config and gcc" \
	         "yourself (Fedora: dnf install libnl3-devel pkgconf-pkg-config gcc python3-devel)"; \
	    exit 0; \
	fi; \
	missing=; \
	for p in $(APT_PACKAGES) $(DOC_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: system packages already installed"; exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq || exit 1; \
	wanted=; \
	for p in $$missing; do \
	    case " $(DOC_PACKAGES) " in \
	        *" $$p "*) apt-cache show $$p >/dev/null 2>&1 || { echo "deps: no $$p here, skipped"; continue; } ;; \
	    esac; \
	    wanted="$$wanted $$p"; \
	done; \
	[ -n "$$wanted" ] || exit 0; \
	echo "deps: apt-get install$$wanted"; \
	apt-get install -y -qq --no-install-recommends $$wanted >/dev/null

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Phony on purpose: the checkout may have changed since the last install.
venv: $(VPY)
	@# A stale build/ would put modules deleted since into the install.
	rm -rf build
	$(PIP) install -q ".[$(EXTRAS)]"

run: deps venv
	cd / && $(VRUN) -m libnl_py $(MAIN_ARGS)

# The tests import the installed package: python -I and the cd keep the repo
# root off sys.path (pytest still reads ../pyproject.toml), and a
# tests/__init__.py would make pytest put it back. Exit 5 (no tests) fails too.
test: deps venv
	@if [ -e tests/__init__.py ]; then \
	    echo "test: tests/__init__.py makes pytest import ./libnl_py instead of the installed package" >&2; \
	    exit 1; \
	fi
	@cd tests && $(VRUN) -m pytest $(PYTEST_ARGS) . ; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "test: pytest collected no tests" >&2; fi; \
	exit $$rc

# Both checkers run even when the first fails, so one pass shows every finding.
# The checkers read the sources: no build of the package is needed.
lint: deps $(VPY)
	@$(PIP) install -q "mypy>=1.8" "ruff>=0.4"
	@rc=0; \
	echo "mypy --strict libnl_py"; $(VPY) -m mypy --strict libnl_py || rc=1; \
	echo "ruff check ."; $(VPY) -m ruff check . || rc=1; \
	exit $$rc

# Sphinx documents the package installed in .venv (python -I: never ./libnl_py,
# which has no compiled module), so docs installs it with the [docs] extra.
# -W: a warning fails the build; -n: every reference must resolve. -E: read
# every page again, so no warning of an earlier build is hidden by the cache.
docs: EXTRAS = docs
docs: deps venv
	cd docs && $(VRUN) -m sphinx -W --keep-going -n -E -q -b html . _build/html
	@echo "docs: docs/_build/html/index.html"

sdist: deps $(VPY)
	$(PIP) install -q build
	$(VPY) -m build --sdist --outdir dist .

wheel: deps $(VPY)
	$(PIP) wheel -q --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis docs/_build \
	    libnl_py/_libnl.c libnl_py/_libnl.*.so libnl_py/_libnl.o
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
