"""``liveexec halt TRADER_ID`` / ``liveexec resume TRADER_ID``: the kill switch."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from liveexec.cli._common import DbOption, err, fail, opened, out
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
        err().print(
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
    from liveexec.db import mask_url  # noqa: PLC0415 (cheap --help)
    from liveexec.ops import halt_trader  # noqa: PLC0415 (cheap --help)

    _checked(trader_id)
    with opened(db, purpose="write") as engine:
        try:
            done = halt_trader(engine, trader_id, reason=reason, reducing=reducing, by=by)
        except LiveexecError as exc:
            raise fail(exc) from None
        where = mask_url(engine.url)
    out().print(
        f"{trader_id} {done.state.name} (halt {done.id}) by {done.halted_by}: {done.reason} "
        f"[{where}]",
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
    from liveexec.ops import resume_trader  # noqa: PLC0415 (cheap --help)

    _checked(trader_id)
    with opened(db, purpose="write") as engine:
        try:
            resumed = resume_trader(engine, trader_id, reason=reason, by=by)
        except LiveexecError as exc:
            raise fail(exc) from None
    message = (
        f"{trader_id} resumed ({resumed.ended} halt(s) ended)"
        if resumed.ended
        else f"{trader_id} was not halted"
    )
    out().print(message, highlight=False, markup=False)
