"""Options several commands share, defined once."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

__all__ = ["DbOption", "warn_password_in_url"]

_DB_HELP = (
    "Database URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB. Default, first found: "
    "$LIVEEXEC_DATABASE_URL, the config's database.url (commands that take a config), the "
    "embedded SQLite file. A password written here is visible to every local user in `ps`: "
    "give it through $LIVEEXEC_DATABASE_URL, ~/.pgpass or $PGPASSFILE (read by PostgreSQL's "
    "client library), or a `${VAR}` in the config's database.url instead."
)


def warn_password_in_url(value: str | None) -> str | None:
    """Say, once per command, that a password on the command line is public on this host."""
    if value:
        from sqlalchemy.engine import make_url  # noqa: PLC0415 (cheap --help)
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

        try:
            password = make_url(value).password
        except (ArgumentError, ValueError):
            return value  # the command reports a malformed URL itself
        if password:
            Console(stderr=True).print(
                "warning: the --db URL holds a password, which every local user can read in "
                "`ps`; use $LIVEEXEC_DATABASE_URL, ~/.pgpass or $PGPASSFILE instead",
                highlight=False,
            )
    return value


DbOption = Annotated[
    str | None,
    typer.Option("--db", help=_DB_HELP, show_default=False, callback=warn_password_in_url),
]
