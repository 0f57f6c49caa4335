"""Soak the playground: hours of mixed load in minutes, with crashes, then check what
Postgres stored against what the clients saw.

    uv run playground soak                          # the reference: 10 min, 16 users
    uv run playground soak --duration-s 60 --users 4 --kill-every-s 30   # a quick look
    uv run python -m scripts.soak --help            # the same, without the CLI

It starts, on loopback: the fake upstream with faults at random rates
(``scripts.fake_upstream``, ``scripts.fake_faults``), and ``--replicas``
``playground serve`` processes on one fresh database (as the benchmark prepares it).
Then ``--users`` users send, drop and resume streams on the other replica, regenerate,
cancel across replicas, edit, fork, send into busy threads and retry with idempotency
keys, while one replica is SIGKILLed and restarted every ``--kill-every-s`` and, once,
every database connection of the replicas is terminated. After the load, replies
settle and the invariants are checked with SQL.

Writes ``results.json``, ``report.md`` and ``soak.png`` into ``--out``
(``scripts/soak-report/``) and exits 1 when an invariant failed.

Modules: ``cli`` (flags), ``run`` (the run), ``users`` and ``client`` (the load),
``journal`` (what the users saw), ``replicas`` and ``chaos`` (the processes and the
kills), ``sampler`` (RSS and connections every second), ``invariants`` (the checks),
``records``, and ``report`` with its template ``report.md.j2``.
"""
