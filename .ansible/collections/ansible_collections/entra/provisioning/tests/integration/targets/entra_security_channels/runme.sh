#!/usr/bin/env bash
# The security audit of issue 13 as a test: every channel a run of the module and of the role writes (-vvvv stdout,
# the JSON result format, the junit and tree callbacks, the log file, registered results, files left in the temp
# directories, --check --diff, ansible-runner artifacts at verbosity 0 as AWX keeps them) is searched for every
# secret in every common encoding. The playbooks also check the refusals of findings 1, 2, 5 and 6 and the
# connection messages, against the emulator's request log and local listeners that must receive nothing.
set -eu
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}" scan_channels.py --emulator-config ../../integration_config.yml \
    --fixtures ../entra_sync_acquire_token/defaults/main.yml --fixtures canaries.yml \
    --inventory "${INVENTORY_PATH}" --work-dir "${OUTPUT_DIR:-$(mktemp -d)}"
