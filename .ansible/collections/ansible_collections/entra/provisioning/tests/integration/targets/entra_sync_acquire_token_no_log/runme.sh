#!/usr/bin/env bash
# Runs entra_sync_acquire_token through its successful, refused, lost and bulk paths at -vvvv, then fails when
# any secret (client secret, certificate password, credential value, access token) shows up in that output.
set -eu

fixtures=../entra_sync_acquire_token/defaults/main.yml
output="$(mktemp)"
trap 'rm -f "${output}"' EXIT

# ansible-core 2.21+ leaves `invocation` (the module arguments, masked) out of results unless asked; without it
# the output would show no masked argument at all and prove nothing. Older cores ignore the variable.
export ANSIBLE_INJECT_INVOCATION=1

playbook_status=0
ansible-playbook -i "${INVENTORY_PATH}" -e @../../integration_config.yml -e "@${fixtures}" -e @vars.yml \
    playbook.yml -vvvv > "${output}" 2>&1 || playbook_status=$?

"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}" check_no_secrets.py --output "${output}" \
    --playbook-status "${playbook_status}" --emulator-config ../../integration_config.yml \
    --fixtures "${fixtures}" --fixtures vars.yml
