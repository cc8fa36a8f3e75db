"""The contention bench stays runnable (the 8 x 250 correctness test lives in tests/integration)."""
from __future__ import annotations

from tests.deploy import contention_bench


def test_bench_runs_and_counts_rows(tmp_path, capsys):
    assert contention_bench.run("delete", processes=2, writes=20, directory=tmp_path) > 0
    contention_bench.main(["--processes", "2", "--writes", "10"])
    out = capsys.readouterr().out
    assert "delete" in out and "wal" in out and "writes/s" in out
