"""Benchmark the playground's relay side by side with a direct client and LiteLLM's proxy.

    uv run playground bench                       # all targets, levels 1, 10, 50, 200
    uv run playground bench --levels 1,10 --requests 20 --no-litellm   # a quick look
    uv run python -m scripts.bench --help         # the same, without the CLI

It starts, as separate processes on loopback: the fake OpenAI-compatible upstream
(``scripts.fake_upstream``: N chunks x interval, plus a usage chunk); the playground
(``playground serve``, one worker, on a fresh database: ``playground_bench_<random>``
on the server of ``DATABASE_URL``, else a fresh embedded cluster with
``pg_stat_statements``); and LiteLLM's proxy from its own virtual environment outside
the project (installed on first use, see ``scripts.bench.litellm_proxy``). Then, for each
target (``direct``: the SDK straight to the upstream, the physical limit;
``playground``; ``litellm``) and concurrency level, it sends a fixed number of
streamed requests, closed loop, and measures latency, throughput and the relay
process's CPU and memory from the outside. Targets run one after the other, never at
the same time, and a relay is stopped before the next one starts.

Writes ``results.json``, ``report.md`` and ``bench.png`` into ``--out`` (``bench-out/``),
and prints one line per target and level while it runs. Every level is bounded in
requests and time (``--level-timeout-s``); all traffic stays on 127.0.0.1.

Modules: ``cli`` (flags, the run over targets), ``targets`` (start, measure, stop
each one), ``levels`` (one target's levels and SQL runs), ``load`` (the clients),
``processes``, ``litellm_proxy``, ``database`` and ``meters`` (the processes and
their readings), ``records`` and ``stats`` (what was measured, summarised), and
``report`` with its template ``report.md.j2`` (the outputs).
"""
