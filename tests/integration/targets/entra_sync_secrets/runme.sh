#!/usr/bin/env bash
# Saves connector secrets through every path (check mode, save, re-run, rotation, refused, rejected, bulk) at -vvvv,
# then fails when any credential value (they all start with "canary-") or the automation client secret shows up.
set -eu

output="$(mktemp)"
trap 'rm -f "${output}"' EXIT

status=0
ansible-playbook -i "${INVENTORY_PATH}" -e @../../integration_config.yml -e @../setup_lifecycle/defaults/main.yml \
    playbook.yml -vvvv > "${output}" 2>&1 || status=$?
if [ "${status}" -ne 0 ]; then
    grep -E 'FAILED|ERROR|assertion' "${output}" | grep -v -- 'canary-' | tail -20
    echo "the playbook failed (status ${status})" >&2
    exit 1
fi
grep -q 'PLAY RECAP' "${output}" && grep -q 'ESTABLISH LOCAL CONNECTION' "${output}" || {
    echo "the output is not a -vvvv run" >&2
    exit 1
}
leaks="$(grep -c -e 'canary-' -e 'emulator-secret-global-automation' -e 'emulator-secret-portal-settings' "${output}" \
    || true)"
if [ "${leaks}" -ne 0 ]; then
    echo "${leaks} line(s) of the -vvvv output hold a secret value" >&2
    exit 1
fi
echo "no secret in $(wc -l < "${output}") lines of -vvvv output"
