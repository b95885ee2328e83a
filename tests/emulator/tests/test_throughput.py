"""The throughput target of issue 3, measured with the shipped benchmark (short run)."""

import json

import bench_throughput


def test_at_least_1000_graph_requests_per_second_without_errors(capsys):
    status = bench_throughput.main(["--seconds", "1.5", "--workers", "8"])
    summary = json.loads(capsys.readouterr().out)
    assert status == 0
    for mode in ("direct", "batch"):
        figures = summary["modes"][mode]
        assert figures["errors"] == 0
        assert figures["graph_requests_counted_by_emulator"] >= figures["client_requests"] > 0
        assert figures["graph_requests_per_second"] >= 1000, figures
