"""Gateway benchmarks: `make bench` or `python -m tests.bench [--quick]`.

Prints figures only; nothing here asserts on timings, and no file is named test_*.py, so
pytest never collects (or waits for) any of it. Modules:

- client.py    lean asyncio HTTP/1.1 keep-alive client and percentile math
- loadgen.py   the load generator, run as its own process (JSON spec in, JSON samples out)
- stack.py     the fake upstream and gateway processes under test
- scenarios.py one function per measurement
- offline.py   measurements by other programs or on files: analytics, SQLite contention, UI size
- analytics.py usage analytics over a synthetic call log (also `python -m tests.bench.analytics`)
- efs.py       SQLite on an emulated EFS (LD_PRELOAD delay layer efs_delay.c): per-call vs batching writer
- relay.py     relay CPU per streamed chunk beside LiteLLM (also `python -m tests.bench.relay`; `--c1`: latency, TTFT)
- report.py    the table and .bench/latest.json
"""
