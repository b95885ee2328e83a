"""Job slicing as AWX does it: the inventory's hosts, ordered by name, split round-robin into N slices, one job
per slice, all slices running at once; here over the example inventory as shipped (two tenants, two clouds)."""

import time
from concurrent.futures import ThreadPoolExecutor

import awx_emulation
from conftest import PLAYBOOK, REPORT_TASK, acquire_counts, application_records, next_job_id

SLICE_COUNT = 3


def launch_sliced(template, awx_root, execution_environment):
    """Launch a sliced job template: one job per slice, run concurrently like the slices of AWX's workflow."""
    slice_count = template.effective_slice_count()
    with ThreadPoolExecutor(max_workers=slice_count) as pool:
        futures = [pool.submit(awx_emulation.run_job, template, awx_root, execution_environment, next_job_id(),
                               slice_number=number, slice_count=slice_count)
                   for number in range(1, slice_count + 1)]
        return [future.result() for future in futures]


def slice_outcomes(jobs):
    """{host: outcome} over every slice, failing when a host was handled by two slices."""
    outcomes = {}
    for job in jobs:
        assert job.status == "successful" and job.rc == 0, job.stdout()[-3000:]
        for host, (outcome, _event_data) in job.host_results(REPORT_TASK, role="authorize").items():
            assert host not in outcomes, "%s ran in two slices" % host
            outcomes[host] = outcome
    return outcomes


def test_sliced_job_authorizes_every_application_exactly_once_and_a_second_run_changes_nothing(
        fresh_emulator, example_inventory, example_project, awx_root, execution_environment):
    hosts = example_inventory.host_names()
    template = awx_emulation.JobTemplate("Authorize every application (sliced)", PLAYBOOK, example_inventory,
                                         example_project, job_slice_count=SLICE_COUNT)
    records = application_records(fresh_emulator, example_inventory, hosts)

    started = time.monotonic()
    first = launch_sliced(template, awx_root, execution_environment)
    first_seconds = time.monotonic() - started

    assert len(first) == SLICE_COUNT
    for number, job in enumerate(first, start=1):
        # Each slice's own inventory holds exactly AWX's round-robin share of the hosts.
        assert sorted(job.host_results(REPORT_TASK, role="authorize")) == \
            example_inventory.sliced_host_names(number, SLICE_COUNT)
    assert slice_outcomes(first) == dict.fromkeys(hosts, "changed")
    assert acquire_counts(fresh_emulator, records) == dict.fromkeys(hosts, 1)

    started = time.monotonic()
    second = launch_sliced(template, awx_root, execution_environment)
    second_seconds = time.monotonic() - started

    assert slice_outcomes(second) == dict.fromkeys(hosts, "ok")
    assert acquire_counts(fresh_emulator, records) == dict.fromkeys(hosts, 1)
    figures = ["slices of %d applications (%s)" % (len(hosts), " / ".join(
        str(len(example_inventory.sliced_host_names(number, SLICE_COUNT))) for number in range(1, SLICE_COUNT + 1)))]
    for label, jobs, seconds in (("first run", first, first_seconds), ("second run", second, second_seconds)):
        figures.append("%s: per-slice wall time %s s, %.1f s for all slices at once" % (
            label, ", ".join("%.1f" % job.wall_seconds for job in jobs), seconds))
    print("\nAWX job slicing, %d %s" % (SLICE_COUNT, "; ".join(figures)))
