"""Alembic environment: the URL comes from liveexec's own settings (see liveexec.config)."""

from __future__ import annotations

from alembic import context

from liveexec.config import resolve_database_url
from liveexec.db import create_db_engine, metadata

config = context.config
url: str = config.attributes.get("liveexec_url") or resolve_database_url()


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=True,  # SQLite cannot ALTER most things: batch mode copies tables
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
