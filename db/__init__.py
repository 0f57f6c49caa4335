"""Storage: models, engine and sessions, migrations, and the zero-setup embedded server.

- ``db.models``: the SQLAlchemy models (thread, message, generation, generation_event).
- ``db.urls``: ``postgresql://`` URLs to SQLAlchemy's asyncpg form and back.
- ``db.engine``: ``create_engine`` / ``create_session_factory``, the one way the app,
  scripts and tests connect; ``create_database`` / ``drop_database``.
- ``db.migrate``: ``upgrade`` / ``downgrade`` with Alembic, configured in code
  (scripts in ``db/migrations``, no ``alembic.ini``).
- ``db.embedded``: ``start_embedded`` (and ``status``/``stop``), the PostgreSQL server used when no
  ``DATABASE_URL`` is set.

Importing the package imports none of them, so a CLI can load only what it uses.
"""
