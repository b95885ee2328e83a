# The commands of the README. Each sets up its own virtual environments (.venv/) from pinned requirement files on
# first use, so a fresh clone needs only Python 3.11 and make (and root, for the Debian 13 root of the Python 3.13
# sessions; see docs/contributing.md). `make test` runs every nox session (noxfile.py, antsibull-nox.toml).
PYTHON ?= python3

.PHONY: demo test setup bench

demo:
	$(PYTHON) tests/tooling/tasks.py demo

test:
	$(PYTHON) tests/tooling/tasks.py test

setup:
	$(PYTHON) tests/tooling/tasks.py setup

bench:
	$(PYTHON) tests/tooling/tasks.py setup
	.venv/tools/bin/python tests/benchmark/run_benchmark.py
