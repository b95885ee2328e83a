#!/usr/bin/env bash
# Issue 24 as a test: what a module writes to syslog and journald, managed identity behind a proxy that forges
# tokens, a managed identity header and secrets echoed by servers in forms they plausibly produce, and a listing
# whose next link points back to itself. side_channels.py starts the local servers on 127.0.0.1 and checks.
set -eu
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}" side_channels.py --emulator-config ../../integration_config.yml \
    --fixtures ../entra_sync_acquire_token/defaults/main.yml --fixtures canaries.yml \
    --inventory "${INVENTORY_PATH}" --work-dir "${OUTPUT_DIR:-$(mktemp -d)}"
