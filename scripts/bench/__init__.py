"""Benchmark the playground's relay side by side with a direct client and LiteLLM's proxy.

    uv run playground bench                       # all targets, both loops, one worker
    uv run playground bench --levels 1,10 --level-seconds 5 --rates 5 --rate-seconds 8 \
        --no-litellm                              # a quick look
    uv run playground bench --workers 1,2         # the playground with 1, then 2 workers
    uv run python -m scripts.bench --help         # the same, without the CLI

It starts, as separate processes on loopback: the fake OpenAI-compatible upstream
(``scripts.fake_upstream``: N chunks x interval, plus a usage chunk); the playground
(``playground serve``, ``--workers N`` when N > 1, on a fresh database:
``playground_bench_<random>`` on the server of ``DATABASE_URL``, else a fresh embedded
cluster with ``pg_stat_statements``); and LiteLLM's proxy (one worker) from its own
virtual environment outside the project (installed on first use, see
``scripts.bench.litellm_proxy``). Then, for each target (``direct``: the SDK straight
to the upstream, the physical limit; ``playground``, once per worker count;
``litellm``), it measures latency, throughput and every process's CPU and memory from
the outside under two shapes of load (``scripts.bench.loops``):

- **closed loop** (steady state): at each concurrency level ``c`` (``--levels``), ``c``
  workers send streamed requests back to back for ``--level-seconds`` (20); the
  requests running when the time is up finish and count;
- **open loop**: at each rate (``--rates``, replies per second), requests arrive on a
  seeded Poisson schedule (``--seed``, the same for every target) for
  ``--rate-seconds`` (30), whether or not earlier ones ended.

Targets run one after the other, never at the same time, and a relay is stopped
before the next one starts. The relay's targets (``scripts.bench.checks``) are judged
on the run: met, or missed by how much.

Writes ``results.json``, ``report.md`` and ``bench.png`` into ``--out`` (``bench-out/``),
and prints one line per target and level or rate while it runs. Every run is bounded
in time (``--level-timeout-s`` past its last start); all traffic stays on 127.0.0.1.

Modules: ``cli`` (flags, the run over targets), ``targets`` (start, measure, stop
each one), ``levels`` (one target's levels, rates and SQL runs), ``loops`` (the closed
and open loops), ``load`` (the clients), ``processes``, ``litellm_proxy``, ``database``
and ``meters`` (the processes and their readings), ``records`` and ``stats`` (what was
measured, summarised), ``checks`` (the targets) and ``report`` with its template
``report.md.j2`` (the outputs).
"""
