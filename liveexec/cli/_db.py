"""``liveexec db``: create, migrate and check the database."""

from __future__ import annotations

from typing import Annotated

import typer

from liveexec.cli._common import EXIT_FAILURE, DbOption, err, fail, group, opened, out
from liveexec.errors import LiveexecError

__all__ = ["db_app"]

db_app = group(
    "Create and migrate the database (Alembic). The URL is, first found: --db, "
    "$LIVEEXEC_DATABASE_URL, the embedded SQLite default."
)


@db_app.command("upgrade")
def db_upgrade(
    db: DbOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the database schema up to a revision (default: head)."""
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import mask_url, upgrade  # noqa: PLC0415 (cheap --help)

    url = resolve_database_url(override=db)
    try:
        upgrade(url, revision)
    except LiveexecError as exc:
        raise fail(exc) from None
    out().print(f"{mask_url(url)} is at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision: an id, -1, or base.")],
    db: DbOption = None,
) -> None:
    """Migrate the schema down to a revision ('base' drops every liveexec table)."""
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import downgrade, mask_url  # noqa: PLC0415 (cheap --help)

    url = resolve_database_url(override=db)
    try:
        downgrade(url, revision)
    except LiveexecError as exc:
        raise fail(exc) from None
    out().print(f"{mask_url(url)} is at revision {revision}")


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Print the database's schema revision and this liveexec's head revision."""
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import current_revision, head_revision, mask_url  # noqa: PLC0415 (cheap --help)

    url = resolve_database_url(override=db)
    with opened(db, purpose="reach") as engine:
        current = current_revision(engine)
    head = head_revision()
    state = "up to date" if current == head else "behind: run `liveexec db upgrade`"
    out().print(f"{mask_url(url)}: revision {current or 'none'} (head {head}, {state})")


@db_app.command("check")
def db_check(db: DbOption = None) -> None:
    """Exit 1 if the migrated schema differs from liveexec's models (migration drift)."""
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import mask_url, schema_drift  # noqa: PLC0415 (cheap --help)

    url = resolve_database_url(override=db)
    with opened(db, purpose="reach") as engine:
        drift = schema_drift(engine)
    if drift:
        for item in drift:
            err().print(f"drift: {item}", highlight=False)
        raise typer.Exit(EXIT_FAILURE)
    out().print(f"{mask_url(url)}: schema matches the models")
