"""Alembic environment for the store.

``sync.store.migrate`` passes an open connection in ``config.attributes["connection"]`` so
migrations run inside the caller's engine (no alembic.ini needed). Without one, the URL comes
from the ``sqlalchemy.url`` option or ``TERRITORY_DB_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import territory.sync.tables  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    configured = context.config.get_main_option("sqlalchemy.url")
    url: str = configured or os.environ.get("TERRITORY_DB_URL") or "sqlite:///territory.db"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    _run_online()
