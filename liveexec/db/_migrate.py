"""Alembic, wrapped: the only way liveexec changes a database schema."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError

import liveexec
from liveexec.db._engine import (
    check_reachable,
    create_db_engine,
    database_errors,
    mask_url,
    sqlite_path,
)
from liveexec.db._models import metadata
from liveexec.errors import DatabaseError, SchemaOutOfDateError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used, not here: a run only needs to know that the database is
# at SCHEMA_HEAD (one SELECT), and importing Alembic and its scripts costs a backtest ~0.2 s.

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

# The revision the models in liveexec.db describe: the newest migration script. A test checks it
# equals Alembic's head, so a new migration cannot land without updating it.
SCHEMA_HEAD = "0011"


def migrations_dir() -> Path:
    """The Alembic scripts: inside the installed wheel, or ``migrations/`` of a source checkout."""
    package = Path(liveexec.__file__).resolve().parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise DatabaseError(f"liveexec's migration scripts are missing (looked in {package})")


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # noqa: PLC0415 (lazy: see SCHEMA_HEAD)

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["liveexec_url"] = url
    return config


_LOCK_KEY = 0x6C697665_65786563 & 0x7FFFFFFF_FFFFFFFF  # 'liveexec': one migration at a time


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations across processes, so concurrent first uses of a fresh database all
    succeed: a session advisory lock on PostgreSQL, an exclusive ``flock`` of the file on SQLite
    (independent of SQLite's own locks, which the migration itself takes)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                connection.commit()
        return
    path = sqlite_path(engine.url)
    if path is None:
        yield
        return
    path.touch(exist_ok=True)  # create_db_engine checked it is ours, empty or missing
    with path.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _migrating(url: str, action: str) -> Iterator[None]:
    from alembic.util.exc import CommandError  # noqa: PLC0415 (lazy: see SCHEMA_HEAD)

    engine = create_db_engine(url, create=True)
    try:
        check_reachable(engine)
        with database_errors(engine, action), _migration_lock(engine):
            try:
                yield
            except CommandError as exc:  # e.g. a revision this liveexec does not know
                raise DatabaseError(f"database {mask_url(engine.url)}: {action}: {exc}") from None
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the schema; safe to run from several processes at once."""
    from alembic import command  # noqa: PLC0415 (lazy: see SCHEMA_HEAD)

    with _migrating(url, "upgrade"):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command  # noqa: PLC0415 (lazy: see SCHEMA_HEAD)

    with _migrating(url, "downgrade"):
        command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """Alembic's head revision, read from the migration scripts."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 (lazy: see SCHEMA_HEAD)

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise DatabaseError("liveexec's migration scripts have no head revision")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None: no liveexec schema); several heads count as none known."""
    with engine.connect() as connection:
        try:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        except (OperationalError, ProgrammingError):  # no alembic_version table
            return None
    return str(rows[0][0]) if len(rows) == 1 else None


def require_current_schema(engine: Engine) -> None:
    """Refuse a database whose schema is not at head, telling the user the command to run."""
    check_reachable(engine)
    current = current_revision(engine)
    if current == SCHEMA_HEAD:
        return
    from alembic.script import ScriptDirectory  # noqa: PLC0415 (lazy: see SCHEMA_HEAD)

    head = head_revision()
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
    from alembic.autogenerate import compare_metadata  # noqa: PLC0415 (lazy: see SCHEMA_HEAD)
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))
