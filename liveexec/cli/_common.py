"""What every command shares: exit codes, consoles, the error line, the common options, the
database opened for a purpose, a run's tables."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from liveexec.cli._options import DbOption
from liveexec.errors import ConfigError, DataError, LiveexecError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from liveexec.config import LiveexecConfig
    from liveexec.ops import Purpose
    from liveexec.runs import RunResult

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_DATA",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "DbOption",
    "SetOption",
    "err",
    "fail",
    "group",
    "opened",
    "out",
    "progress_console",
    "result_tables",
]

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
EXIT_BAD_INPUT = 2
EXIT_DATA = 3  # a market data file is refused (DataError); nothing was written

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config value: dotted.key=value (repeatable)."),
]


def group(help_text: str) -> typer.Typer:
    """A command group: its help and its commands' docstrings reflowed (markdown: a single line
    break is a space), so --help shows no stray breaks."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode="markdown")


# Piped or redirected, a line is as long as it needs: a table's ids are never split over lines.
_PIPED_WIDTH = 10_000


def out() -> Console:
    """Standard output: on a terminal, its width (or $COLUMNS), read when the command runs;
    piped or redirected, lines never wrap."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=_PIPED_WIDTH, soft_wrap=True)


def err() -> Console:
    """Standard error, wrapped like :func:`out` (a path in an error line is not split)."""
    if sys.stderr.isatty():
        return Console(stderr=True)
    return Console(stderr=True, width=_PIPED_WIDTH, soft_wrap=True)


def progress_console() -> Console:
    """Where progress goes: the terminal, else standard error, so that piped standard output
    carries results only."""
    return out() if sys.stdout.isatty() else err()


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[float], None]]:
    """A transient progress bar on standard error for a run (backtest, paper replay); yields
    the callback a run reports its completed fraction to."""
    from rich.progress import (  # noqa: PLC0415 (cheap --help)
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=1.0)
        yield lambda fraction: bar.update(task, completed=fraction)


def fail(exc: LiveexecError) -> typer.Exit:
    """Say what went wrong in one line; the exit code for the kind of error."""
    err().print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
    if isinstance(exc, DataError):
        return typer.Exit(EXIT_DATA)
    return typer.Exit(EXIT_BAD_INPUT if isinstance(exc, ConfigError) else EXIT_FAILURE)


@contextmanager
def opened(
    db: str | None, *, purpose: Purpose = "read", cfg: LiveexecConfig | None = None
) -> Iterator[Engine]:
    """``liveexec.ops.database`` for a command (``--db``, else as resolved for ``cfg``):
    liveexec's errors inside become the error line and its exit code."""
    from liveexec.ops import database  # noqa: PLC0415 (cheap --help)

    try:
        with database(db, purpose=purpose, cfg=cfg) as engine:
            yield engine
    except LiveexecError as exc:
        raise fail(exc) from None


def result_tables(result: RunResult) -> list[Table]:
    from liveexec.runs import format_money  # noqa: PLC0415 (cheap --help)

    summary = Table(title=f"Run {result.run_id}", show_header=False)
    summary.add_column()
    summary.add_column(overflow="fold")  # a log file's path is wrapped, never cut short
    summary.add_row("status", result.status)
    summary.add_row("mode", result.mode)
    summary.add_row("config_id", result.config_id)
    summary.add_row("orders", str(result.orders.height))
    summary.add_row("fills", str(result.fills.height))
    summary.add_row("positions", str(result.positions.height))
    denials = result.risk_denials
    if denials:
        recorded = result.denied_orders
        counted = f" ({denials - recorded} counted in denial_streaks)" if denials > recorded else ""
        summary.add_row("denied", f"{denials}{counted}")
    if result.warnings is not None and result.warnings.total:
        summary.add_row("warnings", result.warnings.text())
    for label, text in result.formatted_statistics():
        summary.add_row(label, text)
    for note in result.statistics.notes:
        summary.add_row("note", note)
    account = Table(title="Account")
    for column in result.account.columns:
        account.add_column(column, justify="right" if column != "currency" else "left")
    for code, *amounts in result.account.iter_rows():
        account.add_row(code, *("-" if v is None else format_money(v, code) for v in amounts))
    return [summary, account]
