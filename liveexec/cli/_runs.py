"""``liveexec runs list|show|reap|delete|prune``, ``liveexec compare`` and ``liveexec report``:
recorded runs, for people (tables that fit the terminal, full rows when piped; an HTML page per
run) and for scripts (--json, --csv)."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from liveexec.cli._common import DbOption, err, fail, group, opened, out, result_tables
from liveexec.errors import ConfigError, ConfigIssue, LiveexecError

if TYPE_CHECKING:
    import polars as pl

__all__ = ["compare_command", "report_command", "runs_app"]

runs_app = group(
    "Recorded runs: list and filter them, show one, mark abandoned ones, delete or prune them."
)

Output = Literal["table", "json", "csv"]
RunArg = Annotated[str, typer.Argument(help="A run id, or a unique prefix of one.")]
FormatOption = Annotated[
    Output,
    typer.Option(
        "--format",
        help="table for people; json (one object per run) or csv for scripts: exact values, "
        "money as text.",
    ),
]


def _since(text: str | None) -> datetime | date | None:
    """``--since``: a date (its midnight UTC), a UTC time, or an age such as 7d or 12h."""
    if text is None:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        if "T" in text or " " in text:
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            "--since",
            [ConfigIssue(text, "not a date, a time or an age", "e.g. 2026-12-01, 7d or 12h")],
        ) from None


def _emit(frame: pl.DataFrame, output: Output) -> None:
    """A frame for scripts: every value exact (money as its decimal text)."""
    import polars as pl  # noqa: PLC0415 (cheap --help)

    # Exact decimals as their shortest text (no padding to 18 decimals); durations as seconds
    # (CSV has no duration type).
    plain = frame.with_columns(
        [
            pl.col(name).cast(pl.String).str.replace(r"(\.\d*?)0+$", "${1}").str.replace(r"\.$", "")
            for name, kind in frame.schema.items()
            if kind.is_decimal()
        ]
        + [
            (pl.col(name).dt.total_microseconds() / 1_000_000).alias(name)
            for name, kind in frame.schema.items()
            if kind == pl.Duration
        ]
    )
    text = plain.write_json() if output == "json" else plain.write_csv()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _table_console() -> Console:
    """Full-width rows when piped (ids never split over lines), the terminal's width otherwise."""
    return out()


@runs_app.command("list")
def runs_list(
    *,
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="How many runs, newest first (0: all).")] = 20,
    mode: Annotated[
        str | None, typer.Option(help="Only this mode: backtest, paper or live.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only this status: running, completed, failed, interrupted, abandoned."),
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="Only runs of this strategy class (any case).")
    ] = None,
    config_id: Annotated[str | None, typer.Option(help="Only runs of this config_id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only runs started since: a date, a UTC time, or 7d, 12h.")
    ] = None,
    output: FormatOption = "table",
) -> None:
    """The latest runs, newest first: strategy and its parameters, instruments, data window,
    orders, trades, PnL and return (in the account's currency)."""
    from liveexec.db import mask_url  # noqa: PLC0415 (cheap --help)
    from liveexec.ops import list_runs  # noqa: PLC0415 (cheap --help)
    from liveexec.runs import format_money  # noqa: PLC0415 (cheap --help)

    try:
        started = _since(since)
    except ConfigError as exc:
        raise fail(exc) from None
    with opened(db) as engine:
        try:
            runs = list_runs(
                engine,
                limit=limit or None,
                mode=mode,
                status=status,
                strategy=strategy,
                config_id=config_id,
                since=started,
            )
        except LiveexecError as exc:
            raise fail(exc) from None
        where = mask_url(engine.url)
    if output != "table":
        _emit(runs, output)
        return
    table = Table(title=f"Runs in {where}")
    for column in ("run", "mode", "status", "strategy", "instruments", "data", "started (UTC)"):
        table.add_column(column)
    for column in ("orders", "trades", "PnL", "return"):
        table.add_column(column, justify="right")
    for row in runs.iter_rows(named=True):
        strategy_text = row["strategy"] + (f" ({row['parameters']})" if row["parameters"] else "")
        start, end = row["data_start"], row["data_end"]
        window = (
            "all the catalog's"
            if start is None and end is None
            else " to ".join(
                f"{moment:%Y-%m-%d %H:%M}" if moment is not None else "..."
                for moment in (start, end)
            )
        )
        pnl = "" if row["pnl"] is None else format_money(row["pnl"], row["currency"])
        total = row["total_return"]
        table.add_row(
            row["run_id"][:8],
            row["mode"],
            row["status"],
            strategy_text,
            row["instruments"],
            window,
            f"{row['started_at']:%Y-%m-%d %H:%M:%S}",
            str(row["orders"]),
            str(row["trades"]),
            pnl,
            "" if total is None else f"{total:.2%}",
        )
    _table_console().print(table)
    if runs.height and sys.stdout.isatty():
        out().print("run ids are shown by their first 8 characters: any unique prefix works")


@runs_app.command("show")
def runs_show(run: RunArg, db: DbOption = None) -> None:
    """Summary, statistics and account of one run."""
    from liveexec.ops import show_run  # noqa: PLC0415 (cheap --help)

    with opened(db) as engine:
        try:
            result = show_run(engine, run)
        except LiveexecError as exc:
            raise fail(exc) from None
    for table in result_tables(result):
        out().print(table)
    if result.error:
        out().print(f"error: {result.error}")


@runs_app.command("reap")
def runs_reap(db: DbOption = None) -> None:
    """Mark 'abandoned' every running run whose owner is gone (killed, machine lost).

    On this machine a run's owner is gone when its process no longer exists; another machine's
    run when its heartbeat is over two minutes old. Every command that opens the database does
    this first; this command only says what it found.
    """
    from liveexec.ops import reap  # noqa: PLC0415 (cheap --help)

    with opened(db, purpose="write") as engine:
        reaped = reap(engine)  # opening it reaped already: this finds what died since
    for run_id in reaped:
        out().print(f"abandoned: {run_id}")
    out().print(f"{len(reaped)} run(s) marked abandoned")


def _confirm(what: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        err().print(f"not deleting {what}: confirm with --yes (stdin is not a terminal)")
        raise typer.Exit(2)
    if not typer.confirm(f"Delete {what}?", default=False):
        raise typer.Exit(1)


@runs_app.command("delete")
def runs_delete(
    runs: Annotated[list[str], typer.Argument(help="Run ids or unique prefixes.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Delete runs with everything they recorded (orders, events, positions, balances). A
    running run, or one a promotion decision cites, is refused (nothing is deleted then).
    Exit 0 deleted, 1 not confirmed, 2 refused or bad input."""
    from liveexec.ops import delete_runs, resolve_run_id  # noqa: PLC0415 (cheap --help)

    with opened(db, purpose="write") as engine:
        try:
            ids = [resolve_run_id(engine, run) for run in runs]
            _confirm(f"{len(ids)} run(s): {', '.join(ids)}", yes)
            done = delete_runs(engine, ids)
        except LiveexecError as exc:
            raise fail(exc) from None
    out().print(f"deleted {len(done.run_ids)} run(s)")


@runs_app.command("prune")
def runs_prune(
    older_than: Annotated[
        str, typer.Option(help="Runs started longer ago than this: 30d, 12h, ...")
    ] = "30d",
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="Statuses to prune (repeatable; default failed, abandoned, interrupted)."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Delete old runs that did not complete (never one a promotion decision cites)."""
    from liveexec.ops import delete_runs, prunable_runs  # noqa: PLC0415 (cheap --help)

    try:
        before = _since(older_than)
    except ConfigError as exc:
        raise fail(exc) from None
    if not isinstance(before, datetime):
        raise fail(ConfigError("--older-than", [ConfigIssue(older_than, "give an age: 30d")]))
    with opened(db, purpose="write") as engine:
        found = prunable_runs(engine, before=before, statuses=tuple(status) if status else None)
        if not found:
            out().print("nothing to prune")
            return
        _confirm(f"{len(found)} run(s) started before {before:%Y-%m-%d %H:%M} UTC", yes)
        try:
            done = delete_runs(engine, found)
        except LiveexecError as exc:
            raise fail(exc) from None
    out().print(f"deleted {len(done.run_ids)} run(s)")


def compare_command(
    runs: Annotated[list[str], typer.Argument(help="Two or more run ids or unique prefixes.")],
    db: DbOption = None,
    output: FormatOption = "table",
) -> None:
    """Several runs' statistics side by side: one column per run (money in each run's account
    currency, ratios as percentages)."""
    from liveexec.ops import compare  # noqa: PLC0415 (cheap --help)

    with opened(db) as engine:
        try:
            comparison = compare(engine, *runs)
        except LiveexecError as exc:
            raise fail(exc) from None
    if output != "table":
        _emit(comparison.frame, output)
        return
    table = comparison.table()
    view = Table(title="Runs compared")
    for column in table.columns:
        view.add_column(column, justify="left" if column == table.columns[0] else "right")
    for row in table.iter_rows():
        view.add_row(*(str(value) for value in row))
    _table_console().print(view)


def report_command(
    run: RunArg,
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", help="The HTML file to write (self-contained: opens offline in a browser)."
        ),
    ],
    vs: Annotated[
        str | None,
        typer.Option(
            "--vs", help="Another run (id or prefix): a parity panel compares their orders."
        ),
    ] = None,
    catalog: Annotated[
        str | None,
        typer.Option(help="The catalog with the run's prices, when not where its config says."),
    ] = None,
    db: DbOption = None,
) -> None:
    """One run as an HTML page: what ran, its statistics, equity marked to market and its
    drawdown, the trades on the price, monthly returns (and parity with --vs). Charts are
    interactive (zoom, pan, hover); the page needs no network."""
    import time  # noqa: PLC0415

    from liveexec.analysis import report  # noqa: PLC0415 (cheap --help)

    started = time.monotonic()
    with opened(db) as engine:
        try:
            written = report(run, out_file, database_url=engine, vs=vs, catalog=catalog)
        except LiveexecError as exc:
            raise fail(exc) from None
    size = written.stat().st_size
    out().print(
        f"report: {written} ({size / 1_000_000:.1f} MB, {time.monotonic() - started:.1f} s)",
        highlight=False,
    )
