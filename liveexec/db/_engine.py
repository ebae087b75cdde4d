"""Engines for the embedded SQLite default and for PostgreSQL (psycopg 3)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from liveexec.db._models import metadata
from liveexec.errors import DatabaseError, DatabaseUnavailableError, SchemaOutOfDateError

__all__ = [
    "LIVEEXEC_TABLES",
    "create_db_engine",
    "database_errors",
    "error_text",
    "mask_url",
    "normalize_url",
    "probe_sqlite_file",
    "sqlite_path",
]

# Tables only liveexec's migrations create: a file holding other tables is someone else's.
LIVEEXEC_TABLES = frozenset({*metadata.tables, "alembic_version"})
_SQLITE_HEADER = b"SQLite format 3\x00"
SqliteState = Literal["missing", "empty", "liveexec", "foreign", "not_sqlite"]


def normalize_url(url: str) -> URL:
    """Parse a URL; plain ``postgresql://`` means psycopg 3, the driver liveexec ships with."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 (a non-numeric port raises only when read)
    except (ArgumentError, ValueError):
        raise DatabaseUnavailableError(
            "database URL is not valid: expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUnavailableError(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    return parsed


def mask_url(url: str | URL) -> str:
    """The URL with its password hidden: safe for logs and messages."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<invalid database URL>"
    return parsed.render_as_string(hide_password=True)


# How long a SQLite connection waits for another process's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:  # noqa: ANN401 (DB-API)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for in-memory and URI-style databases)."""
    database = url.database
    if url.host:
        raise DatabaseUnavailableError(
            f"{mask_url(url)} names a host: a SQLite file is sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        )
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def probe_sqlite_file(path: Path) -> SqliteState:
    """What is at ``path``, found without changing it (read-only, immutable: no journal, no
    WAL file, no lock)."""
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "not_sqlite"
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError:
        return "not_sqlite"
    if not header:
        return "empty"
    if header != _SQLITE_HEADER:
        return "not_sqlite"
    tables = _sqlite_tables(path, "mode=ro&immutable=1")
    if tables is None and Path(f"{path}-wal").exists():
        # Left by a writer that was killed: part of the schema may still be in the WAL, which an
        # immutable read skips. A plain read-only open reads it (SQLite's own recovery).
        tables = _sqlite_tables(path, "mode=ro")
    if tables is None:
        return "not_sqlite"
    if not tables:
        return "empty"
    return (
        "liveexec"
        if "alembic_version" in tables and tables <= LIVEEXEC_TABLES | {"account_balances"}
        else "foreign"
    )


def _sqlite_tables(path: Path, options: str) -> set[str] | None:
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True)
        try:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {name for (name,) in rows if not name.startswith("sqlite_")}
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return None


def _check_sqlite_file(url: URL, *, create: bool) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    state = probe_sqlite_file(path)
    where = mask_url(url)
    if state == "not_sqlite":
        raise DatabaseError(f"{where}: {path} is not a SQLite database; liveexec leaves it alone")
    if state == "foreign":
        raise DatabaseError(
            f"{where}: {path} is a SQLite database of another program (it has tables liveexec "
            "did not create); liveexec leaves it alone: use another file"
        )
    if state in ("missing", "empty") and not create:
        raise SchemaOutOfDateError(
            f"{where}: no liveexec database at {path}: run `liveexec db upgrade --db URL`"
        )
    if state == "missing":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailableError(
                f"cannot create the folder of SQLite database {path}: {exc.strerror}"
            ) from None


def create_db_engine(url: str, *, echo: bool = False, create: bool = True) -> Engine:
    """An engine for ``url``: SQLite files get WAL and foreign keys.

    A SQLite file that is not a liveexec database (another program's tables, or not SQLite at
    all) is refused before anything touches it. ``create=False`` (commands that only read or
    need an existing schema) also refuses a missing or empty file instead of creating it.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(parsed, create=create)
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        parsed, echo=echo, pool_pre_ping=True, connect_args={"connect_timeout": 10}
    )


def check_reachable(engine: Engine) -> None:
    """Open and close one connection, turning a failure into a clear error."""
    try:
        with engine.connect():
            pass
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseUnavailableError(
            f"cannot connect to database {mask_url(engine.url)}: {_reason(exc)}"
        ) from None


def _reason(exc: DBAPIError) -> str:
    """The database's own first line: never the statement or its parameters."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__


def error_text(exc: BaseException) -> str:
    """What went wrong, for people and the runs row: a database error as the driver's own
    first line (SQLAlchemy's text adds the statement, its parameters and a link to its
    documentation), another SQLAlchemy error as its message alone, anything else as it is."""
    if isinstance(exc, DBAPIError):
        origin = type(exc.orig) if exc.orig is not None else type(exc)
        return f"({origin.__module__}.{origin.__name__}) {_reason(exc)}"
    if isinstance(exc, SQLAlchemyError):
        lines = str(exc.args[0]).strip().splitlines() if exc.args else []
        return lines[0] if lines else type(exc).__name__
    return str(exc)


@contextmanager
def database_errors(engine: Engine, action: str) -> Iterator[None]:
    """Turn a driver error while ``action`` into one ``DatabaseError`` line naming the database
    (password masked) and what went wrong, without the SQL or its parameters."""
    try:
        yield
    except DBAPIError as exc:
        raise DatabaseError(
            f"database {mask_url(engine.url)}: {action} failed: {_reason(exc)}"
        ) from None
