"""``python -m scripts.soak``: the soak without the ``playground`` command."""

from scripts.soak.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
