#!/usr/bin/env bash
# Runs the documented example twice on a fresh emulator state: the first run brings the apps from nothing to
# running jobs, the second sends no write; neither shows a secret at -vvvv. Then the beta notice shows once.
set -eu

# ansible-test runs a copy of the target that holds no docs/; the collection root is where the seed lives.
example="$(python -c 'import json, os, sys; seed = json.load(open(sys.argv[1]))["emulator_seed_path"];
print(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(seed))), "docs", "examples", "provision.yml"))' \
    ../../integration_config.yml)"
vars=(-e @../../integration_config.yml -e @../setup_lifecycle/defaults/main.yml -e @tenant.yml)
output="$(mktemp)"
trap 'rm -f "${output}"' EXIT

ansible-playbook -i "${INVENTORY_PATH}" "${vars[@]}" ../setup_lifecycle/reset_playbook.yml
for run in 1 2; do
    ansible-playbook -i "${INVENTORY_PATH}" "${vars[@]}" ../setup_lifecycle/clear_log_playbook.yml
    ansible-playbook -i "${INVENTORY_PATH}" "${vars[@]}" "${example}" -vvvv > "${output}" 2>&1 || {
        grep -E 'FAILED|ERROR' "${output}" | grep -v -- 'canary-' | tail -20
        exit 1
    }
    if grep -q -e 'canary-' -e 'emulator-secret-global-automation' "${output}"; then
        echo "run ${run}: the -vvvv output holds a secret value" >&2
        exit 1
    fi
    ansible-playbook -i "${INVENTORY_PATH}" "${vars[@]}" -e run_number="${run}" check.yml
done

# The beta deprecation is shown once per run, however many tasks use beta.
ansible-playbook -i "${INVENTORY_PATH}" "${vars[@]}" ../setup_lifecycle/reset_playbook.yml
# ansible-test turns deprecation warnings off; users have them on by default.
ANSIBLE_DEPRECATION_WARNINGS=true ansible-playbook -i "${INVENTORY_PATH}" "${vars[@]}" beta_once.yml > "${output}" 2>&1 || {
    tail -30 "${output}"
    exit 1
}
shown="$(grep -c 'api_version beta: Microsoft Graph beta marks' "${output}" || true)"
if [ "${shown}" -ne 1 ]; then
    echo "the beta deprecation was shown ${shown} times, not once" >&2
    exit 1
fi
