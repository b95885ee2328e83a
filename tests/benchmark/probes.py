"""Measuring instruments: peak memory of a process tree, and a time-stamped copy of the emulator's request log.

Both run in a background thread of the benchmark while ansible-playbook runs, read only (``/proc`` and the
emulator's control API), and never touch the processes they watch.
"""

import math
import os
import resource
import threading
import time


def _children(pid):
    """Child pids of a process, from /proc/PID/task/*/children (cheap: no scan of every process)."""
    children = []
    try:
        threads = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return children
    for thread in threads:
        try:
            with open("/proc/%d/task/%s/children" % (pid, thread), "rb") as handle:
                children.extend(int(item) for item in handle.read().split())
        except OSError:
            continue
    return children


def _children_by_scan(pid):
    """Child pids of a process found by reading every /proc/PID/stat (for kernels without the children file)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                text = handle.read().decode("ascii", "replace")
        except OSError:
            continue
        if int(text[text.rfind(")") + 2:].split()[1]) == pid:
            children.append(int(entry))
    return children


def _read_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return None


def peak_rss_kib(pid):
    """The kernel's high-water mark of resident memory (VmHWM) of a live process in KiB, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid, "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def classify(cmdline, controller_cmdline):
    """Say what a process under ansible-playbook is: 'controller' (the main process or a forked worker, which share
    its command line), 'module' (a Python process running an AnsiballZ payload) or 'other' (shells, sleep)."""
    if cmdline is None:
        return "other"
    if cmdline == controller_cmdline:
        return "controller"
    program = os.path.basename(cmdline.split(" ", 1)[0])
    # The shell that starts the module names the payload too; only the interpreter holds the module's memory.
    if "AnsiballZ_" in cmdline and program.startswith("python"):
        return "module"
    return "other"


def cpu_seconds(pid):
    """User plus system CPU seconds a live process has used itself (not its children), or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            fields = handle.read().decode("ascii", "replace").rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def cpu_seconds_of_children():
    """User plus system CPU seconds of every child this process has waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ProcessTreeSampler(object):
    """Polls /proc for a process and its descendants and keeps each one's peak RSS (VmHWM).

    VmHWM is kept by the kernel, so a sample taken any time before a process exits already holds its peak up to that
    moment; a process that lives shorter than one interval can be missed, which is why the count of module processes
    seen is reported next to the figures.
    """

    def __init__(self, root_pid, interval=0.02):
        self.root_pid = root_pid
        self.interval = interval
        self.root_cmdline = _read_cmdline(root_pid)
        has_children_file = os.path.exists("/proc/%d/task/%d/children" % (root_pid, root_pid))
        self._children_of = _children if has_children_file else _children_by_scan
        self.controller_peak_kib = 0
        self.controller_cpu_seconds = None
        self.worker_peak_kib = 0
        self.module_peaks_kib = {}
        self.module_names = {}
        self._known = {}
        self._seen_as_fork = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self):
        """Start sampling in a background thread; returns self."""
        self._thread.start()
        return self

    def stop(self):
        """Stop sampling and wait for the thread."""
        self._stop.set()
        self._thread.join()

    def _descendants(self):
        found = []
        stack = [self.root_pid]
        while stack:
            children = self._children_of(stack.pop())
            found.extend(children)
            stack.extend(children)
        return found

    def sample(self):
        """Take one sample of the whole tree."""
        peak = peak_rss_kib(self.root_pid)
        if peak:
            self.controller_peak_kib = max(self.controller_peak_kib, peak)
            self.controller_cpu_seconds = cpu_seconds(self.root_pid)
        for pid in self._descendants():
            kind = self._known.get(pid)
            if kind is None:
                cmdline = _read_cmdline(pid)
                kind = classify(cmdline, self.root_cmdline)
                # A fork shows its parent's command line until it execs, so a process that looks like the
                # controller is only taken for a worker when it still does on the next sample.
                if kind != "controller" or pid in self._seen_as_fork:
                    self._known[pid] = kind
                else:
                    self._seen_as_fork.add(pid)
                if kind == "module":
                    self.module_names[pid] = next((part for part in cmdline.split() if "AnsiballZ_" in part), "")
            peak = peak_rss_kib(pid)
            # A process caught between fork and exec, or already a zombie, shows no meaningful peak yet.
            if not peak or peak < 1024:
                continue
            if kind == "module":
                self.module_peaks_kib[pid] = max(self.module_peaks_kib.get(pid, 0), peak)
            elif kind == "controller":
                self.worker_peak_kib = max(self.worker_peak_kib, peak)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def module_peak_kib(self, name_part=None):
        """The largest peak RSS among module processes (optionally only those whose AnsiballZ name has `name_part`)."""
        peaks = [peak for pid, peak in self.module_peaks_kib.items()
                 if name_part is None or name_part in self.module_names.get(pid, "")]
        return max(peaks) if peaks else None

    def module_count(self, name_part=None):
        """How many module processes were seen."""
        return sum(1 for pid in self.module_peaks_kib
                   if name_part is None or name_part in self.module_names.get(pid, ""))


class LogRecorder(object):
    """Copies the emulator's request log while a scenario runs and brackets each entry's time.

    The emulator stamps entries to the second only. An entry first returned by poll k did not exist when poll k-1
    was sent and did exist when poll k was answered, so it happened within (sent[k-1], answered[k]]: that interval,
    a few tens of milliseconds wide, is what the throttling analysis works with.
    """

    def __init__(self, control_client, interval=0.02):
        self.control = control_client
        self.interval = interval
        self.entries = []
        self.widest_bracket = 0.0
        self._last_seq = 0
        self._previous_sent = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-recorder", daemon=True)

    def start(self):
        """Take a first poll (it brackets what comes next) and start polling in a background thread."""
        self.poll()
        self._thread.start()
        return self

    def stop(self):
        """Stop polling, then poll once more so nothing that happened before stop() is left out."""
        self._stop.set()
        self._thread.join()
        self.poll()

    def poll(self):
        """Fetch the entries logged since the last poll and bracket their times."""
        sent = time.monotonic()
        new_entries = self.control.log(since=self._last_seq)
        answered = time.monotonic()
        earliest = self._previous_sent if self._previous_sent is not None else sent
        for entry in new_entries:
            self._last_seq = max(self._last_seq, entry["seq"])
            self.entries.append(dict(entry, after=earliest, before=answered))
        if new_entries:
            self.widest_bracket = max(self.widest_bracket, answered - earliest)
        self._previous_sent = sent

    def _run(self):
        while not self._stop.is_set():
            self._stop.wait(self.interval)
            self.poll()


def max_retry_after_seconds(requests_per_second):
    """The longest Retry-After the emulator's token bucket can answer at this rate: ceil(1/rate), at least 1 s.

    The bucket answers ceil((1 - tokens) / rate) with 0 <= tokens < 1, so this bound holds for every 429.
    """
    return max(1, math.ceil(1.0 / requests_per_second))


def graph_attempts(entries):
    """The entries that are Graph requests the rate limiter judged (direct requests and $batch items)."""
    return [entry for entry in entries if entry.get("kind") in ("graph", "batch_item") and entry.get("status") is not None]


def analyse_throttling(entries, retry_after, rate, burst):
    """Judge politeness from a recorded log: how each throttled request was retried, and how much of the cap was used.

    A request is identified by method, path and body; the next attempt of the same request after a 429 is its retry.
    For each retry the gap to the 429 lies in [min_gap, max_gap] from the entries' brackets. A retry is *early* when
    even max_gap is shorter than Retry-After (certainly did not wait), *waited* when min_gap is at least Retry-After,
    and *within resolution* otherwise (its true gap is within one poll of Retry-After either way).
    Achieved rate: accepted requests over the span from the first to the last judged request; the cap over that
    span is burst + rate x span (a full bucket at the start, then the refill).
    """
    attempts = graph_attempts(entries)
    last_throttle = {}
    retries = []
    unanswered = 0
    for entry in attempts:
        key = (entry.get("method"), entry.get("path"), repr(entry.get("query")), repr(entry.get("body")))
        throttled = entry.get("status") == 429
        previous = last_throttle.pop(key, None)
        if previous is not None:
            retries.append({
                "min_gap": entry["after"] - previous["before"],
                "max_gap": entry["before"] - previous["after"],
                "throttled_again": throttled,
            })
        if throttled:
            last_throttle[key] = entry
    unanswered = len(last_throttle)
    throttled_count = sum(1 for entry in attempts if entry.get("status") == 429)
    accepted = len(attempts) - throttled_count
    early = [retry for retry in retries if retry["max_gap"] < retry_after]
    waited = [retry for retry in retries if retry["min_gap"] >= retry_after]
    span = (max(entry["before"] for entry in attempts) - min(entry["after"] for entry in attempts)) if attempts else 0.0
    # Brackets make the span an over-estimate, so the share below is a lower bound of the true share.
    cap_over_span = burst + rate * span
    return {
        "graph_attempts": len(attempts),
        "accepted": accepted,
        "throttled": throttled_count,
        "retries": len(retries),
        "retries_early": len(early),
        "retries_waited": len(waited),
        "retries_within_resolution": len(retries) - len(early) - len(waited),
        "retries_throttled_again": sum(1 for retry in retries if retry["throttled_again"]),
        "throttled_never_retried": unanswered,
        "min_gap_lower_bound": min((retry["min_gap"] for retry in retries), default=None),
        "min_gap_upper_bound": min((retry["max_gap"] for retry in retries), default=None),
        "retry_after": retry_after,
        "span_seconds": span,
        "achieved_rate": accepted / span if span > 0 else None,
        "cap_share": accepted / cap_over_span if cap_over_span > 0 else None,
    }
