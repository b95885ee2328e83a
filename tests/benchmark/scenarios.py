"""Running one scenario: reset the emulator, run ansible-playbook over an inventory, measure, and check the outcome.

Every scenario checks its own result against the emulator's state, so a fast run that skipped, repeated or failed
an application cannot pass: each of its N applications must be authorized with exactly one authorization code
redeemed, and no application outside the inventory may have been touched.
"""

import json
import os
import re
import subprocess
import sys
import time

import probes
import workload

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
                        r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)")
# The module whose AnsiballZ processes are watched; the role runs none (its action works in the worker process).
MODULE_PAYLOAD = {"role": "entra_sync_acquire_token", "role_summary": "entra_sync_acquire_token",
                  "playbook_summary": "entra_sync_acquire_token",
                  "module_per_host": "entra_sync_acquire_token", "module_bulk": "entra_sync_acquire_token",
                  "uri_per_host": "uri", "empty": None, "run_once_role": None, "debug_per_host": None}


class Scenario(object):
    """One measured run: which playbook (contender), over how many applications, with how many forks.

    ``expect`` says what the recap and the emulator must show afterwards: 'authorized' (every application changed
    once and now authorized), 'unchanged' (a re-run: nothing sent, nothing changed) or 'nothing' (the empty play).
    """

    def __init__(self, name, contender, application_count, forks=5, expect="authorized", faults=None,
                 fresh_state=True, record_log=False, command_prefix=None):
        self.name = name
        self.contender = contender
        self.application_count = application_count
        self.forks = forks
        self.expect = expect
        self.faults = faults
        self.fresh_state = fresh_state
        self.record_log = record_log
        # Put in front of ansible-playbook, e.g. a profiler that runs it in the same process.
        self.command_prefix = list(command_prefix or [])


def parse_recap(output_path):
    """{host: {'ok', 'changed', 'unreachable', 'failed'}} from the PLAY RECAP of an ansible-playbook log."""
    recap = {}
    with open(output_path, "r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = RECAP_LINE.match(line)
            if match:
                recap[match.group("host")] = {name: int(match.group(name))
                                              for name in ("ok", "changed", "unreachable", "failed")}
    return recap


class Runner(object):
    """Runs scenarios against one emulator, with this checkout as the entra.provisioning collection."""

    def __init__(self, emulator, applications, scratch_dir, logs_dir, say=print):
        self.emulator = emulator
        self.applications = applications
        self.scratch_dir = scratch_dir
        self.logs_dir = logs_dir
        self.say = say
        self.collections_path = workload.collections_dir(scratch_dir)
        with open(os.path.join(scratch_dir, "ansible.cfg"), "w", encoding="utf-8") as config:
            config.write("# Empty on purpose: every setting of the benchmark's runs is in their environment.\n")
        self.ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        self._inventories = {}

    def inventory_path(self, application_count):
        """The inventory of the first `application_count` applications (written once per size)."""
        if application_count not in self._inventories:
            path = os.path.join(self.scratch_dir, "inventory-%d.json" % application_count)
            workload.write_inventory(path, self.applications[:application_count], self.emulator.info)
            self._inventories[application_count] = path
        return self._inventories[application_count]

    def bulk_variables_path(self, application_count):
        """The -e @file of the module_bulk playbook for the first `application_count` applications."""
        path = os.path.join(self.scratch_dir, "bulk-%d.json" % application_count)
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(workload.bulk_variables(self.applications[:application_count], self.emulator.info), handle)
        return path

    def environment(self, forks):
        """The environment of an ansible-playbook run: this checkout as the collection, quiet, scratch temp dirs."""
        environment = dict(os.environ)
        environment.pop("PYTHONPATH", None)
        environment.update(
            ANSIBLE_COLLECTIONS_PATH=self.collections_path,
            ANSIBLE_FORKS=str(forks),
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_RETRY_FILES_ENABLED="False",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_LOCAL_TEMP=os.path.join(self.scratch_dir, "ansible-local"),
            ANSIBLE_REMOTE_TEMP=os.path.join(self.scratch_dir, "ansible-remote"),
            # The benchmark's own settings must not come from an ansible.cfg of whoever runs it.
            ANSIBLE_CONFIG=os.path.join(self.scratch_dir, "ansible.cfg"),
            # Per-task wall times, to tell where a run's time goes (start-up, the bulk run, the per-host report).
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(workload.BENCHMARK_DIR, "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="bench_task_timer",
        )
        return environment

    def run(self, scenario):
        """Run one scenario and return its record (measurements plus the list of failed checks)."""
        needs_emulator = scenario.expect != "nothing"
        if needs_emulator and scenario.fresh_state:
            # Explicit reset: authorizations, redeemed codes, faults (back to the start-up latency), log, counters.
            self.emulator.reset()
        elif needs_emulator:
            # A re-run keeps the state of the previous run on purpose; only the log and counters start again.
            self.emulator.clear_log()
        if needs_emulator and scenario.faults:
            self.emulator.set_faults(**scenario.faults)
        inventory_path = self.inventory_path(scenario.application_count)
        playbook = workload.PLAYBOOKS[scenario.contender]
        output_path = os.path.join(self.logs_dir, "%s.log" % scenario.name)
        before = self.emulator.counters() if needs_emulator else None
        recorder = probes.LogRecorder(self.emulator).start() if scenario.record_log else None
        emulator_cpu_before = probes.cpu_seconds(self.emulator.process.pid)
        cpu_before = probes.cpu_seconds_of_children()
        command = scenario.command_prefix + [self.ansible_playbook, "-i", inventory_path, "-f", str(scenario.forks),
                                             playbook]
        if scenario.contender == "module_bulk":
            command += ["-e", "@" + self.bulk_variables_path(scenario.application_count)]
        task_times_path = os.path.join(self.logs_dir, "%s.tasks.json" % scenario.name)
        environment = dict(self.environment(scenario.forks), BENCH_TASK_TIMES=task_times_path)
        with open(output_path, "w", encoding="utf-8") as output:
            started = time.monotonic()
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=environment, cwd=self.scratch_dir)
            sampler = probes.ProcessTreeSampler(process.pid).start()
            exit_code = process.wait()
            exited = time.monotonic()
            wall_seconds = exited - started
            sampler.stop()
        cpu_seconds = probes.cpu_seconds_of_children() - cpu_before
        emulator_cpu_after = probes.cpu_seconds(self.emulator.process.pid)
        if recorder is not None:
            recorder.stop()
        counters = self.emulator.counters() if needs_emulator else None
        states = self._application_states() if needs_emulator else None
        recap = parse_recap(output_path)
        payload = MODULE_PAYLOAD[scenario.contender]
        record = {
            "name": scenario.name,
            "contender": scenario.contender,
            "n": scenario.application_count,
            "forks": scenario.forks,
            "measured": True,
            "exit_code": exit_code,
            "wall_seconds": wall_seconds,
            "cpu_seconds_controller_and_modules": cpu_seconds,
            "cpu_seconds_emulator": (emulator_cpu_after - emulator_cpu_before
                                     if None not in (emulator_cpu_after, emulator_cpu_before) else None),
            "cpu_seconds_controller_main": sampler.controller_cpu_seconds,
            "controller_peak_rss_mib": _mib(sampler.controller_peak_kib),
            "worker_peak_rss_mib": _mib(sampler.worker_peak_kib),
            "module_peak_rss_mib": _mib(sampler.module_peak_kib(payload)) if payload else None,
            "module_processes_seen": sampler.module_count(payload) if payload else 0,
            "log": os.path.relpath(output_path, workload.REPO_ROOT),
            "task_seconds": task_times(task_times_path, started, exited),
        }
        traffic = _traffic(before, counters) if counters is not None else None
        if traffic is not None:
            record.update(traffic)
        record["failed_checks"] = self.check(scenario, exit_code, recap, traffic, states)
        record["correct"] = not record["failed_checks"]
        if recorder is not None:
            record["log_entries"] = recorder.entries
            record["log_bracket_widest_seconds"] = recorder.widest_bracket
        return record

    def _application_states(self):
        return {state["name"]: state for state in self.emulator.applications(workload.TENANT_ID)}

    def check(self, scenario, exit_code, recap, traffic, states):
        """Return the list of what is wrong with a finished scenario (empty when it did what it had to)."""
        problems = []
        expected_hosts = {application["name"] for application in self.applications[:scenario.application_count]}
        if exit_code != 0:
            problems.append("ansible-playbook exited with %d" % exit_code)
        if scenario.expect == "nothing":
            # An empty play prints no recap lines at all; it only has to succeed.
            return problems
        # The bulk reference runs one task on localhost: its recap has that one line. The role's summary report runs
        # its tasks once, on the first host, and no task on the others, so the recap has that host only.
        recap_hosts = expected_hosts
        if scenario.contender == "module_bulk":
            recap_hosts = {"localhost"}
        elif scenario.contender in ("role_summary", "playbook_summary"):
            recap_hosts = {self.applications[0]["name"]}
        if set(recap) != recap_hosts:
            problems.append("the recap lists %d hosts, expected %d" % (len(recap), len(recap_hosts)))
        failed = sorted(host for host, line in recap.items() if line["failed"] or line["unreachable"])
        if failed:
            problems.append("%d hosts failed or were unreachable, e.g. %s" % (len(failed), ", ".join(failed[:3])))
        if scenario.contender != "uri_per_host":
            # uri reports a POST as unchanged; for it the emulator's state below is the proof.
            wanted = 1 if scenario.expect == "authorized" else 0
            # The role's per-host report task is the one that changes; every other task of it is run once, on the
            # first host, and must not count as a change there, so each host shows exactly 0 or 1.
            wrong = sorted(host for host, line in recap.items() if line["changed"] != wanted)
            if wrong:
                problems.append("%d hosts report changed != %d, e.g. %s" % (len(wrong), wanted, ", ".join(wrong[:3])))
        not_authorized = sorted(name for name in expected_hosts if not states.get(name, {}).get("authorized"))
        if not_authorized:
            problems.append("%d applications are not authorized afterwards, e.g. %s"
                            % (len(not_authorized), ", ".join(not_authorized[:3])))
        # Each application's single-use code must have been redeemed exactly once: by this run ('authorized') or
        # by the run before it ('unchanged'). More means a repeat, none means it was never sent.
        wrong_codes = sorted(name for name in expected_hosts
                             if states.get(name, {}).get("used_authorization_codes") != 1)
        if wrong_codes:
            problems.append("%d applications do not have exactly one redeemed code, e.g. %s"
                            % (len(wrong_codes), ", ".join(wrong_codes[:3])))
        touched = sorted(name for name, state in states.items() if name not in expected_hosts
                         and (state["authorized"] or state["used_authorization_codes"]))
        if touched:
            problems.append("%d applications outside the inventory were touched" % len(touched))
        acquired = traffic["acquire_calls"]
        if scenario.expect == "authorized" and acquired != len(expected_hosts):
            problems.append("%d acquireAccessToken calls reached the service for %d applications"
                            % (acquired, len(expected_hosts)))
        if scenario.expect == "unchanged" and acquired:
            problems.append("the re-run sent acquireAccessToken %d times" % acquired)
        return problems


def task_times(path, launched_at, exited_at):
    """[[what, seconds], ...] from the timer callback's marks: start-up (launch to first play), each task (its start
    to the next mark) and the recap until the process exited; None when the callback wrote nothing."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            marks = json.load(handle)
    except (OSError, ValueError):
        return None
    if not marks:
        return None
    times = [["(start-up: load inventory and playbook)", round(marks[0]["at"] - launched_at, 3)]]
    for mark, following in zip(marks, marks[1:]):
        if mark["event"] == "task":
            times.append([mark["name"], round(following["at"] - mark["at"], 3)])
    times.append(["(recap and exit)", round(exited_at - marks[-1]["at"], 3)])
    return times


def _mib(kib):
    return round(kib / 1024.0, 1) if kib else None


def _traffic(before, after):
    """Requests the emulator counted during the run (the counters start at zero after a reset or clear)."""
    def delta(*path):
        old, new = before, after
        for key in path:
            old, new = (old or {}).get(key, 0), (new or {}).get(key, 0)
        return (new or 0) - (old or 0)
    direct = delta("requests", "graph")
    envelopes = delta("requests", "batch")
    return {
        "graph_requests": delta("graph_requests"),
        "direct_graph_requests": direct,
        "batch_envelopes": envelopes,
        "batch_items": delta("batch_items"),
        "round_trips": direct + envelopes,
        "token_requests": delta("requests", "token"),
        "tokens_issued": delta("tokens_issued"),
        "throttled": delta("throttled"),
        "acquire_calls": delta("operations", "acquireAccessToken"),
    }
