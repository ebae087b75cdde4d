"""``liveexec halt TRADER_ID`` / ``liveexec resume TRADER_ID``: the kill switch."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.console import Console

from liveexec.cli._options import DbOption
from liveexec.errors import LiveexecError

__all__ = ["halt_command", "resume_command"]

_TRADER_ID = re.compile(r"[A-Za-z0-9_]+-[A-Za-z0-9_]+")

TraderArg = Annotated[str, typer.Argument(help="The trader to halt or resume, e.g. TRADER-001.")]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Who acts (default: $LIVEEXEC_USER or the login name, @host).",
        show_default=False,
    ),
]


def _checked(trader_id: str) -> None:
    if not _TRADER_ID.fullmatch(trader_id):
        Console(stderr=True).print(
            f"error: {trader_id!r} is not a trader id (expected something like 'TRADER-001')",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(2)


def halt_command(
    trader_id: TraderArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (recorded, and in every denial's reason).")
    ] = "manual halt",
    reducing: Annotated[
        bool,
        typer.Option(
            "--reducing",
            help="Let orders that reduce a position through (trading state REDUCING).",
        ),
    ] = False,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Halt a trader: every node of TRADER_ID sharing the database denies new orders within a
    second (the poll interval), until `liveexec resume`. The halt survives restarts.

    Exit codes: 0 halted, 1 database error, 2 bad arguments.
    """
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import create_db_engine, database_errors, mask_url, require_current_schema  # noqa: PLC0415 (cheap --help)
    from liveexec.risk import current_user, halt  # noqa: PLC0415 (cheap --help)

    _checked(trader_id)
    url = resolve_database_url(override=db)
    try:
        engine = create_db_engine(url, create=False)
        try:
            with database_errors(engine, "halting"):
                require_current_schema(engine)
                done = halt(
                    engine, trader_id, by=by or current_user(), reason=reason, reducing=reducing
                )
        finally:
            engine.dispose()
    except LiveexecError as exc:
        Console(stderr=True).print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    Console().print(
        f"{trader_id} {done.state.name} (halt {done.id}) by {done.halted_by}: {done.reason} "
        f"[{mask_url(url)}]",
        highlight=False,
        markup=False,
    )


def resume_command(
    trader_id: TraderArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "manual resume",
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """End every halt of TRADER_ID in force; its nodes trade again within a second.

    Exit codes: 0 resumed (or nothing was halted), 1 database error, 2 bad arguments.
    """
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import create_db_engine, database_errors, require_current_schema  # noqa: PLC0415 (cheap --help)
    from liveexec.risk import active_halt, current_user, resume  # noqa: PLC0415 (cheap --help)

    _checked(trader_id)
    url = resolve_database_url(override=db)
    try:
        engine = create_db_engine(url, create=False)
        try:
            with database_errors(engine, "resuming"):
                require_current_schema(engine)
                ended = resume(engine, trader_id, by=by or current_user(), reason=reason)
                still = active_halt(engine, trader_id)
        finally:
            engine.dispose()
    except LiveexecError as exc:
        Console(stderr=True).print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    assert still is None
    message = (
        f"{trader_id} resumed ({ended} halt(s) ended)" if ended else (f"{trader_id} was not halted")
    )
    Console().print(message, highlight=False, markup=False)
