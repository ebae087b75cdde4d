"""Alembic, wrapped: the only way liveexec changes a database schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import liveexec
from liveexec.db._engine import check_reachable, create_db_engine, mask_url
from liveexec.db._models import metadata
from liveexec.errors import DatabaseError, SchemaOutOfDateError

__all__ = [
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "migrations_dir",
    "require_current_schema",
    "schema_drift",
    "upgrade",
]

UPGRADE_HINT = "liveexec db upgrade"


def migrations_dir() -> Path:
    """The Alembic scripts: inside the installed wheel, or ``migrations/`` of a source checkout."""
    package = Path(liveexec.__file__).resolve().parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise DatabaseError(f"liveexec's migration scripts are missing (looked in {package})")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["liveexec_url"] = url
    return config


@contextmanager
def _connected(url: str) -> Iterator[Engine]:
    engine = create_db_engine(url)
    try:
        check_reachable(engine)
        yield engine
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    with _connected(url):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    with _connected(url):
        command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise DatabaseError("liveexec's migration scripts have no head revision")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    """Refuse a database whose schema is not at head, telling the user the command to run."""
    check_reachable(engine)
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    where = mask_url(engine.url)
    if current is None:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        state = (
            "has no liveexec schema" if not tables else "was not created by liveexec's migrations"
        )
        raise SchemaOutOfDateError(f"database {where} {state}: run `{UPGRADE_HINT} --db URL`")
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaOutOfDateError(
            f"database {where} is at revision {current}, newer than this liveexec ({head}): "
            "upgrade liveexec"
        )
    raise SchemaOutOfDateError(
        f"database {where} is at revision {current}, behind {head}: run `{UPGRADE_HINT} --db URL`"
    )


def schema_drift(engine: Engine) -> list[Any]:
    """Differences between the models and the migrated database (empty when they agree)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))
