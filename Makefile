# The two commands of the README. Both set up their own virtual environments (.venv/) from pinned
# requirement files on first use, so a fresh clone needs only Python 3.11 and make.
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
