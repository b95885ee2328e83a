#!/usr/bin/env bash
# The authorize role over an inventory of 200 applications in three tenants and two clouds: check mode, --limit,
# a full run with failing applications, a re-run, and serial batches; then the edge scenarios (edge_scenarios.py) and
# the authorize_start_job ones (job_scenarios.py). run_scenarios.py drives ansible-playbook and checks the PLAY RECAP,
# each application's outcome and the emulator's request log.
set -euo pipefail
python run_scenarios.py ../../integration_config.yml "${OUTPUT_DIR}" "$@"
