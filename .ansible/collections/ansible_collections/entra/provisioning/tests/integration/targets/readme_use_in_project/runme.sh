#!/usr/bin/env bash
# README.md's "Use it in your project", word for word, on a fresh clone; follow_readme.py says what it stands in for.
set -euo pipefail
python follow_readme.py ../../integration_config.yml
