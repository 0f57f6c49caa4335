"""``python -m scripts.bench``: the benchmark without the ``playground`` command."""

from scripts.bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
