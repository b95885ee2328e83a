#!/usr/bin/env bash
# The entra_sync inventory plugin through ansible-inventory against the emulator (hosts, groups, variables, paging,
# $batch, filters, cache, environment fallbacks, vault, errors), then the authorize role with
# --limit entra_sync_quarantine. run_inventory.py drives both and checks the emulator's request log.
set -euo pipefail
python run_inventory.py ../../integration_config.yml "${OUTPUT_DIR}"
