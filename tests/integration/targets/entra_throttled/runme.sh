#!/usr/bin/env bash
# The role and the module's bulk mode against a tenant the emulator caps at 20 requests a second, each $batch item
# counted (as Graph counts them): every application must end authorized, with few 429s. run_throttled.py drives
# ansible-playbook and checks the emulator's state and counters.
set -euo pipefail
python run_throttled.py ../../integration_config.yml "${OUTPUT_DIR}" "$@"
