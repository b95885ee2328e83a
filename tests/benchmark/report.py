"""Turning scenario records into the benchmark's outputs: floor rows, extrapolations, targets, table, JSON and plot."""

import json
import os

import workload

CONTENDER_LABELS = {
    "role": "(a) role: action + per-host report",
    "role_summary": "(a) role: action, authorize_report=summary",
    "playbook_summary": "(a') playbook entra.provisioning.authorize, summary",
    "debug_per_host": "one per-host debug task",
    "floor_per_host": "floor with a per-host task",
    "module_per_host": "(b) module once per host",
    "uri_per_host": "(c) uri per host",
    "empty": "empty ansible-playbook",
    "run_once_role": "(ref) a role of two run-once tasks, no Graph",
    "module_bulk": "(ref) module bulk, one task, no role",
    "floor": "floor",
    "inventory": "inventory plugin: ansible-inventory --list over N service principals with jobs",
}
# The issue-27 bounds of the throttled scenario.
THROTTLED_CAP_SHARE = 0.95
THROTTLED_MOST_429_SHARE = 0.10


def series_key(record):
    """The line a record belongs to in tables and plots: contender plus forks where forks tell lines apart."""
    if record["contender"] == "module_per_host":
        return "module_per_host/forks%d" % record["forks"]
    return record["contender"]


def series_label(key):
    """A reader's name for a series key."""
    contender, separator, forks = key.partition("/")
    label = CONTENDER_LABELS.get(contender, contender)
    return "%s, %s" % (label, forks.replace("forks", "forks ")) if separator else label


def floor_records(records, sizes, graph_latency_ms, token_latency_ms, max_concurrency):
    """Two floor rows per size: the least round trips and their latency, plus the empty play ('floor') or the play
    with one per-host debug task ('floor_per_host') measured at that size in the same run."""
    return (_floors(records, sizes, graph_latency_ms, token_latency_ms, max_concurrency, "empty", "floor")
            + _floors(records, sizes, graph_latency_ms, token_latency_ms, max_concurrency, "debug_per_host",
                      "floor_per_host"))


def _floors(records, sizes, graph_latency_ms, token_latency_ms, max_concurrency, playbook_contender, contender):
    floors = []
    empty_by_n = {record["n"]: record for record in records
                  if record["contender"] == playbook_contender and record["measured"]}
    for size in sizes:
        least = workload.floor(size, graph_latency_ms, token_latency_ms, max_concurrency)
        empty = empty_by_n.get(size)
        if contender != "floor" and empty is None:
            continue
        floors.append({
            "name": "%s-%d" % (contender.replace("_", "-"), size),
            "contender": contender,
            "n": size,
            "forks": None,
            "measured": empty is not None,
            "wall_seconds": least["latency_seconds"] + empty["wall_seconds"] if empty else None,
            "latency_seconds": least["latency_seconds"],
            "empty_playbook_seconds": empty["wall_seconds"] if empty else None,
            "graph_requests": least["graph_requests"],
            "round_trips": least["round_trips"],
            "token_requests": least["token_requests"],
            "throttled": 0,
            "formula": ("%d token request x %d ms + %d phases x %d waves of %d envelope(s) (%d in flight) x %d ms"
                        " + empty ansible-playbook run" % (1, token_latency_ms, least["phases"],
                                                           least["waves_per_phase"], least["envelopes_per_phase"],
                                                           max_concurrency, graph_latency_ms)
                        + ("" if contender == "floor" else " with one per-host debug task")),
            "correct": None,
        })
    return floors


def extrapolations(records, sizes):
    """Linear extrapolations for series that were not measured at some size, from their two largest measured sizes.

    Returned rows carry measured=False and say which points they come from; they are never mixed with measurements.
    """
    rows = []
    by_series = {}
    for record in records:
        if record["measured"] and record["contender"] in ("module_per_host", "uri_per_host") \
                and record.get("expect", "authorized") == "authorized":
            by_series.setdefault(series_key(record), []).append(record)
    for key, measured in sorted(by_series.items()):
        measured = sorted(measured, key=lambda record: record["n"])
        measured_sizes = {record["n"] for record in measured}
        if len(measured) < 2:
            continue
        low, high = measured[-2], measured[-1]
        for size in sizes:
            if size in measured_sizes or size < high["n"]:
                continue
            rows.append({
                "name": "%s-%d-extrapolated" % (high["name"].rsplit("-", 1)[0], size),
                "contender": high["contender"],
                "forks": high["forks"],
                "n": size,
                "measured": False,
                "extrapolated_from": [low["n"], high["n"]],
                "wall_seconds": _linear(low, high, "wall_seconds", size),
                "graph_requests": _linear(low, high, "graph_requests", size),
                "round_trips": _linear(low, high, "round_trips", size),
                "token_requests": _linear(low, high, "token_requests", size),
                "cpu_seconds_controller_and_modules": _linear(low, high, "cpu_seconds_controller_and_modules", size),
                "throttled": None,
                "correct": None,
            })
    return rows


def _linear(low, high, field, size):
    """The value of `field` at `size` on the line through two measured records, or None if either lacks it."""
    if low.get(field) is None or high.get(field) is None:
        return None
    slope = (high[field] - low[field]) / float(high["n"] - low["n"])
    return high[field] + slope * (size - high["n"])


def _find(records, contender, size, forks=None, measured_only=False, expect="authorized"):
    for record in records:
        if record["contender"] != contender or record["n"] != size:
            continue
        if forks is not None and record.get("forks") != forks:
            continue
        if record.get("expect", "authorized") != expect or record.get("throttled_scenario"):
            continue
        if measured_only and not record["measured"]:
            continue
        return record
    return None


# (role contender, its floor, what the report is called, at most this many floors, at least this many times (c))
ROLE_TARGETS = (("role", "floor_per_host", "per-host report", 1.5, 8),
                ("role_summary", "floor", "summary report", 1.3, 40),
                ("playbook_summary", "floor", "summary report (the collection's playbook)", 1.3, 40))


def targets(records, throttle, headline_n, uri_forks):
    """Judge the issue's targets from one run's records; each with its ratio, the bound and met/missed."""
    judged = []
    uri = _find(records, "uri_per_host", headline_n, forks=uri_forks)
    for contender, floor_contender, report_name, most_floors, least_uri in ROLE_TARGETS:
        role = _find(records, contender, headline_n, measured_only=True)
        floor = _find(records, floor_contender, headline_n, measured_only=True)
        if role and floor and role["wall_seconds"] and floor["wall_seconds"]:
            ratio = role["wall_seconds"] / floor["wall_seconds"]
            judged.append({"target": "%d applications, role with the %s: at most %sx its floor (%s)"
                                     % (headline_n, report_name, most_floors, series_label(floor_contender)),
                           "value": ratio, "bound": "<= %s" % most_floors,
                           "met": ratio <= most_floors and role["correct"],
                           "detail": "role %.1f s / floor %.1f s" % (role["wall_seconds"], floor["wall_seconds"])})
        if role and uri and uri["wall_seconds"]:
            ratio = uri["wall_seconds"] / role["wall_seconds"]
            how = "measured"
            if not uri["measured"]:
                how = "EXTRAPOLATED linearly from N=%d and N=%d" % tuple(uri["extrapolated_from"])
            judged.append({"target": "%d applications, role with the %s: at least %dx faster than (c)"
                                     % (headline_n, report_name, least_uri),
                           "value": ratio, "bound": ">= %d" % least_uri, "met": ratio >= least_uri and role["correct"],
                           "detail": "(c) %.1f s (%s) / role %.1f s" % (uri["wall_seconds"], how,
                                                                        role["wall_seconds"])})
    role = _find(records, "role", headline_n, measured_only=True)
    if role:
        # The role's action works in a worker forked from the controller; the controller holds the registered
        # result for every host; a module process would only show if the role started one. The largest counts.
        peaks = [value for value in (role.get("controller_peak_rss_mib"), role.get("worker_peak_rss_mib"),
                                     role.get("module_peak_rss_mib")) if value is not None]
        peak = max(peaks) if peaks else None
        judged.append({"target": "%d applications with the role: peak RSS of every process doing the work under "
                                 "150 MB" % headline_n,
                       "value": peak, "bound": "< 150 MiB (MB read as MiB, the stricter)",
                       "met": peak is not None and peak < 150,
                       "detail": "largest of the controller, its workers and %d module processes seen"
                                 % role.get("module_processes_seen", 0)})
    if throttle:
        analysis = throttle["throttling"]
        share = analysis["cap_share"]
        judged.append({"target": "throttled: at least 95% of the cap used", "value": share,
                       "bound": ">= %.2f" % THROTTLED_CAP_SHARE,
                       "met": share is not None and share >= THROTTLED_CAP_SHARE,
                       "detail": "%d accepted in %.1f s at a cap of %s/s with burst %s"
                                 % (analysis["accepted"], analysis["span_seconds"], throttle["rate_limit"]["rate"],
                                    throttle["rate_limit"]["burst"])})
        refused = analysis["throttled"] / float(analysis["accepted"]) if analysis["accepted"] else None
        judged.append({"target": "throttled: 429 answers at most 10% of the accepted requests", "value": refused,
                       "bound": "<= %.2f" % THROTTLED_MOST_429_SHARE,
                       "met": refused is not None and refused <= THROTTLED_MOST_429_SHARE,
                       "detail": "%d 429s for %d accepted requests (each $batch item counted)"
                                 % (analysis["throttled"], analysis["accepted"])})
        judged.append({"target": "throttled: no failures", "value": len(throttle["failed_checks"]), "bound": "== 0",
                       "met": throttle["correct"], "detail": "; ".join(throttle["failed_checks"]) or "all checks passed"})
        judged.append({"target": "throttled: no wasted immediate retries", "value": analysis["retries_early"],
                       "bound": "== 0 retries sooner than Retry-After",
                       "met": analysis["retries_early"] == 0 and analysis["throttled_never_retried"] == 0,
                       "detail": "%d 429s, %d retries: %d certainly waited >= %ss, %d within the %.0f ms clock "
                                 "resolution, %d early; %d retries were throttled again"
                                 % (analysis["throttled"], analysis["retries"], analysis["retries_waited"],
                                    analysis["retry_after"], analysis["retries_within_resolution"],
                                    analysis["resolution_seconds"] * 1000, analysis["retries_early"],
                                    analysis["retries_throttled_again"])})
    judged.extend(harsh_targets(records))
    judged.extend(large_targets(records))
    role_one = _find(records, "role", 1, measured_only=True)
    uri_one = _find(records, "uri_per_host", 1, forks=uri_forks, measured_only=True)
    if role_one and uri_one:
        ratio = role_one["wall_seconds"] / uri_one["wall_seconds"]
        judged.append({"target": "one application: the role no slower than (c)", "value": ratio, "bound": "<= 1.0",
                       "met": ratio <= 1.0 and role_one["correct"],
                       "detail": "role %.2f s / (c) %.2f s" % (role_one["wall_seconds"], uri_one["wall_seconds"])})
    return judged


def harsh_targets(records):
    """Harsh runs: no application fails in any run; the 429 share and the wall time against the cap's own time."""
    runs = [record for record in records if record.get("harsh_scenario")]
    if not runs:
        return []
    failed = [record["name"] for record in runs if not record["correct"]]
    return [{"target": "harsh (%d applications, %s req/s, %d ms a request): no application fails in %d run(s)"
                       % (runs[0]["n"], runs[0]["rate_limit"]["rate"], runs[0]["latency_ms"], len(runs)),
             "value": len(failed), "bound": "== 0", "met": not failed,
             "detail": "; ".join("%s: %.1f s (the cap alone needs %.1f s), %d 429s for %d accepted (%.0f%%)"
                                 % (record["name"].rsplit("-", 1)[1], record["wall_seconds"], record["cap_seconds"],
                                    record["throttled"], record["accepted"], 100 * (record["throttled_share"] or 0))
                                 for record in runs)}]


# (contender, what, at most this many floors) at the large size; the floor is the empty play plus the Graph floor
LARGE_TARGETS = (("role_summary", "the role with the summary report", 1.5),
                 ("playbook_summary", "the collection's playbook with the summary report", 1.5),
                 ("module_bulk", "the module's bulk mode", 2.0))
# Peak memory of the controller and its workers against the empty play over the same hosts.
LARGE_MOST_MEMORY = 1.3


def large_targets(records):
    """The large scenarios: time against the floor, controller memory against the empty play, the inventory plugin
    against its Graph floor and from its cache."""
    judged = []
    large = [record for record in records if record.get("large_scenario")]
    if not large:
        return judged
    size = large[0]["n"]
    floor = _find(records, "floor", size, measured_only=True)
    empty = next((record for record in large if record["contender"] == "empty"), None)
    empty_peak = _peak(empty) if empty else None
    for contender, what, most_floors in LARGE_TARGETS:
        record = next((record for record in large if record["contender"] == contender), None)
        if record is None:
            continue
        if floor and floor["wall_seconds"]:
            ratio = record["wall_seconds"] / floor["wall_seconds"]
            judged.append({"target": "%d applications, %s: at most %sx the floor" % (size, what, most_floors),
                           "value": ratio, "bound": "<= %s" % most_floors, "met": ratio <= most_floors
                           and record["correct"], "detail": "%.1f s / floor %.1f s (empty play %.1f s + Graph %.1f s)"
                           % (record["wall_seconds"], floor["wall_seconds"], floor["empty_playbook_seconds"],
                              floor["latency_seconds"])})
        peak = _peak(record)
        if peak and empty_peak:
            judged.append({"target": "%d applications, %s: peak memory of the controller and its workers at most "
                                     "%sx the empty play's" % (size, what, LARGE_MOST_MEMORY),
                           "value": peak / empty_peak, "bound": "<= %s" % LARGE_MOST_MEMORY,
                           "met": peak / empty_peak <= LARGE_MOST_MEMORY,
                           "detail": "%.0f MiB / %.0f MiB" % (peak, empty_peak)})
    inventory = _find(records, "inventory", size, expect="inventory")
    if inventory:
        ratio = inventory["wall_seconds"] / inventory["floor_seconds"]
        judged.append({"target": "%d service principals, inventory plugin: at most 1.5x its Graph floor" % size,
                       "value": ratio, "bound": "<= 1.5", "met": ratio <= 1.5 and inventory["correct"],
                       "detail": "%.1f s / Graph floor %.1f s (ansible-inventory over the same hosts from a static "
                                 "file: %.1f s); peak %s MiB" % (inventory["wall_seconds"], inventory["floor_seconds"],
                                                                 inventory["static_seconds"],
                                                                 inventory["controller_peak_rss_mib"])})
        judged.append({"target": "%d service principals, inventory plugin from its cache: under 2 s" % size,
                       "value": inventory["cached_seconds"], "bound": "< 2", "met": inventory["cached_seconds"] < 2,
                       "detail": "no Graph request"})
    return judged


def _peak(record):
    """The largest peak RSS (MiB) of the controller and its workers in a record, or None."""
    peaks = [value for value in (record.get("controller_peak_rss_mib"), record.get("worker_peak_rss_mib"))
             if value is not None]
    return max(peaks) if peaks else None


def _cell(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return ("%%.%df" % digits) % value
    return str(value)


def table_rows(records):
    """The rows of the main table, ordered by contender then N."""
    order = ["floor", "empty", "run_once_role", "floor_per_host", "debug_per_host", "module_bulk", "role",
             "role_summary", "playbook_summary", "module_per_host", "uri_per_host", "inventory"]
    rows = sorted(records, key=lambda record: (order.index(record["contender"]), record.get("forks") or 0,
                                               record.get("throttled_scenario", False),
                                               record.get("harsh_scenario", False), record.get("name", ""),
                                               record.get("expect", "authorized") != "authorized", record["n"]))
    return rows


def scenario_label(record):
    """The scenario column: series, plus what sets this row apart (re-run, throttled, extrapolated)."""
    label = series_label(series_key(record))
    if record.get("expect") == "unchanged":
        label += ", re-run (all already authorized)"
    if record.get("throttled_scenario"):
        label += ", throttled at %s req/s" % record["rate_limit"]["rate"]
    if record.get("harsh_scenario"):
        label += ", harsh: %s req/s, %d ms a request (%s)" % (
            record["rate_limit"]["rate"], record["latency_ms"], record["name"].rsplit("-", 1)[1])
    if not record["measured"] and not record["contender"].startswith("floor"):
        label += ", EXTRAPOLATED (linear from N=%d and N=%d)" % tuple(record["extrapolated_from"])
    return label


def markdown(summary):
    """The report as Markdown: settings, the table, the targets and where the role's time went."""
    lines = []
    settings = summary["settings"]
    lines.append("# Benchmark results")
    lines.append("")
    lines.append("Run %s on %d CPUs, Python %s, ansible-core %s; emulator latency %d ms per Graph request, %d ms per "
                 "token request; role max_concurrency %d. Benchmark time %.0f s (budget %d s). Load average before/after:"
                 " %s / %s." % (summary["started_at"], settings["cpus"], settings["python"], settings["ansible_core"],
                                settings["graph_latency_ms"], settings["token_latency_ms"], settings["max_concurrency"],
                                summary["elapsed_seconds"], settings["budget_seconds"],
                                " ".join("%.1f" % value for value in summary["load_before"]),
                                " ".join("%.1f" % value for value in summary["load_after"])))
    lines.append("")
    lines.append("| scenario | N | wall s | x floor | x per-host floor | Graph requests | round trips | token requests "
                 "| 429s | controller peak MiB | worker peak MiB | module peak MiB | CPU s | correct |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    floors = {record["n"]: record for record in summary["records"] if record["contender"] == "floor"}
    per_host_floors = {record["n"]: record for record in summary["records"]
                       if record["contender"] == "floor_per_host"}
    for record in table_rows(summary["records"]):
        # The inventory plugin's floor is its own (Graph only, in the targets), not a playbook's.
        playbook = record["contender"] != "inventory"
        versus = _ratio(record, floors.get(record["n"])) if playbook else None
        versus_per_host = _ratio(record, per_host_floors.get(record["n"])) if playbook else None
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            scenario_label(record), record["n"], _cell(record.get("wall_seconds"), 2), _cell(versus, 2),
            _cell(versus_per_host, 2),
            _cell(_whole(record.get("graph_requests"))), _cell(_whole(record.get("round_trips"))),
            _cell(_whole(record.get("token_requests"))), _cell(record.get("throttled")),
            _cell(record.get("controller_peak_rss_mib")), _cell(record.get("worker_peak_rss_mib")),
            _cell(record.get("module_peak_rss_mib")),
            _cell(record.get("cpu_seconds_controller_and_modules")),
            _cell(record.get("correct")) if record["measured"] else "not run"))
    lines.append("")
    lines.append("Per-host floor(N) = the same Graph latency + the play with one per-host debug task over the same N "
                 "hosts, measured in this run: the least a role that reports on every host can take.")
    lines.append("")
    lines.append("Floor(N) = 1 token request x %d ms + %d phases x ceil(ceil(N/20) envelopes / %d in flight) x %d ms "
                 "+ the empty ansible-playbook run over the same N hosts, measured in this run. Round trips of the "
                 "floor: 1 + phases x ceil(N/20)."
                 % (settings["token_latency_ms"], len(workload.MODULE_PHASES), settings["max_concurrency"],
                    settings["graph_latency_ms"]))
    lines.append("")
    lines.append("## Targets")
    lines.append("")
    lines.append("| target | measured | bound | result | detail |")
    lines.append("|---|---:|---|---|---|")
    for target in summary["targets"]:
        lines.append("| %s | %s | %s | %s | %s |" % (target["target"], _cell(target["value"], 2), target["bound"],
                                                     "met" if target["met"] else "MISSED", target["detail"]))
    for record in summary["records"]:
        if record.get("failed_checks"):
            lines.append("")
            lines.append("Checks that failed in %s: %s" % (record["name"], "; ".join(record["failed_checks"])))
    headline = _find(summary["records"], "role", summary["settings"]["headline_n"], measured_only=True)
    if headline and headline.get("task_seconds"):
        lines.append("")
        lines.append("## Where the role's time went at N=%d (wall seconds per task)" % headline["n"])
        lines.append("")
        lines.append("| task | seconds | share |")
        lines.append("|---|---:|---:|")
        for name, seconds in headline["task_seconds"]:
            lines.append("| %s | %.2f | %.0f%% |" % (name, seconds, 100.0 * seconds / headline["wall_seconds"]))
    throttle = summary.get("throttle")
    if throttle:
        analysis = throttle["throttling"]
        lines.append("")
        lines.append("## Throttled scenario")
        lines.append("")
        lines.append("Role over %d applications, tenant capped at %s requests/s (token bucket, burst %s), Retry-After "
                     "%s s. %d Graph requests judged, %d accepted, %d answered 429; achieved %.1f requests/s over "
                     "%.1f s = %.1f%% of the cap (burst + rate x span). Retries: %d, of which %d certainly waited at "
                     "least Retry-After, %d are within the clock resolution (%.0f ms) of it, %d were early, %d were "
                     "throttled again; shortest gap between a 429 and its retry: %.3f to %.3f s."
                     % (throttle["n"], throttle["rate_limit"]["rate"], throttle["rate_limit"]["burst"],
                        analysis["retry_after"], analysis["graph_attempts"], analysis["accepted"],
                        analysis["throttled"], analysis["achieved_rate"] or 0, analysis["span_seconds"],
                        100 * (analysis["cap_share"] or 0), analysis["retries"], analysis["retries_waited"],
                        analysis["retries_within_resolution"], analysis["resolution_seconds"] * 1000,
                        analysis["retries_early"], analysis["retries_throttled_again"],
                        analysis["min_gap_lower_bound"] or 0, analysis["min_gap_upper_bound"] or 0))
    lines.append("")
    return "\n".join(lines)


def _ratio(record, floor):
    if floor and floor.get("wall_seconds") and record.get("wall_seconds"):
        return record["wall_seconds"] / floor["wall_seconds"]
    return None


def _whole(value):
    if isinstance(value, float):
        return int(round(value))
    return value


def write_json(summary, path):
    """Write the whole summary (records, targets, settings) as JSON."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True)


def plot(summary, path):
    """Draw wall time against N per series, log-log; extrapolated points hollow on a dashed line. Returns the path,
    or None when matplotlib is missing (the table and JSON do not need it)."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")
        from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    throttled = [record for record in summary["records"]
                 if record.get("throttled_scenario") or record.get("harsh_scenario")]
    if throttled:
        figure, (axes, capped) = pyplot.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [3, 2]})
        _plot_capped(capped, throttled)
    else:
        figure, axes = pyplot.subplots(figsize=(8, 5.5))
    series = {}
    for record in summary["records"]:
        if record.get("expect", "authorized") not in ("authorized", "inventory") or record.get("throttled_scenario") \
                or record.get("harsh_scenario"):
            continue
        if record.get("wall_seconds") is None:
            continue
        series.setdefault(series_key(record), []).append(record)
    for key in sorted(series):
        points = sorted(series[key], key=lambda record: record["n"])
        measured = [record for record in points if record["measured"]]
        guessed = [record for record in points if not record["measured"]]
        line = axes.plot([record["n"] for record in measured], [record["wall_seconds"] for record in measured],
                         marker="o", label=series_label(key), linestyle="--" if key == "floor" else "-")[0]
        if guessed:
            bridge = measured[-1:] + guessed
            axes.plot([record["n"] for record in bridge], [record["wall_seconds"] for record in bridge],
                      linestyle=":", color=line.get_color(), marker="o", markerfacecolor="none",
                      label="%s (extrapolated)" % series_label(key))
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("applications (N)")
    axes.set_ylabel("wall time, seconds")
    axes.set_title("Authorizing N applications against the emulator (%d ms Graph, %d ms token latency)"
                   % (summary["settings"]["graph_latency_ms"], summary["settings"]["token_latency_ms"]), fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def _plot_capped(axes, records):
    """Beside the main plot: each throttled or harsh run's wall time against the time the cap alone needs, with its
    429 share written over the bars."""
    names, walls, floors, shares = [], [], [], []
    for record in records:
        accepted = record.get("accepted")
        if accepted is None and record.get("throttling"):
            accepted = record["throttling"]["accepted"]
        rate = record["rate_limit"]["rate"]
        burst = record["rate_limit"]["burst"]
        names.append(record["name"].replace("role-", ""))
        walls.append(record["wall_seconds"])
        floors.append(max(0.0, ((accepted or 0) - burst) / float(rate)))
        shares.append(record["throttled"] / float(accepted) if accepted else 0.0)
    positions = range(len(names))
    axes.bar([position - 0.2 for position in positions], walls, width=0.4, label="wall time")
    axes.bar([position + 0.2 for position in positions], floors, width=0.4, label="the cap alone (burst, then rate)")
    for position, wall, share in zip(positions, walls, shares):
        axes.annotate("%.0f%% 429s" % (100 * share), (position - 0.2, wall), ha="center", va="bottom", fontsize=8)
    axes.set_xticks(list(positions))
    axes.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("seconds")
    axes.set_title("Throttled tenants: wall time against the cap's own time", fontsize=10)
    axes.legend(fontsize=8)


def write_outputs(summary, results_dir):
    """Write benchmark.md, benchmark.json and benchmark.png into results_dir; return their paths."""
    os.makedirs(results_dir, exist_ok=True)
    markdown_path = os.path.join(results_dir, "benchmark.md")
    with open(markdown_path, "w", encoding="utf-8") as handle:
        handle.write(markdown(summary))
    json_path = os.path.join(results_dir, "benchmark.json")
    write_json(summary, json_path)
    png_path = plot(summary, os.path.join(results_dir, "benchmark.png"))
    return [path for path in (markdown_path, json_path, png_path) if path]
