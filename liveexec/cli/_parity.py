"""``liveexec parity RUN_A RUN_B``: two recorded runs' orders aligned, with what differs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from liveexec.cli._common import err, out
from liveexec.cli._options import DbOption
from liveexec.errors import ConfigError, DataError, LiveexecError

if TYPE_CHECKING:
    from liveexec.analysis import ParityReport

__all__ = ["parity_command"]

_SHOWN = ("sequence", "side_a", "side_b", "quantity_a", "quantity_b", "fill_px_a", "fill_px_b")


def _summary_table(report: ParityReport) -> Table:
    table = Table(title="Parity (B against A)", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for label, value in report.summary():
        table.add_row(label, value)
    return table


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _orders_table(report: ParityReport, limit: int) -> Table:
    import polars as pl  # noqa: PLC0415 (only this command needs polars and the analysis)

    differing = report.orders.filter(
        ~pl.col("matched")
        | (pl.col("fill_px_diff_ticks").fill_null(0) != 0)
        | (pl.col("fees_diff").fill_null(0) != 0)
    )
    table = Table(
        title=f"Orders that differ (first {min(limit, differing.height)} of {differing.height})"
    )
    columns = ("strategy_id", *_SHOWN, "fill_px_diff_ticks", "fees_diff", "matched")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in differing.head(limit).iter_rows(named=True):
        table.add_row(*(_cell(row[name]) for name in columns))
    return table


def parity_command(
    run_a: Annotated[str, typer.Argument(help="The reference run (e.g. the backtest).")],
    run_b: Annotated[str, typer.Argument(help="The run compared with it (e.g. the paper run).")],
    db: DbOption = None,
    rows: Annotated[int, typer.Option(help="Differing orders to list.", min=0)] = 20,
) -> None:
    """Align two recorded runs' orders by each strategy's own order sequence (client order ids
    differ between runs) and print what differs: orders matched (same instrument, side, type
    and quantity), unmatched on each side, fill price differences in ticks, fees and realized
    PnL. Reads only the tables, so any two past runs compare (backtest vs paper, two backtests).
    Exit 0 when the report was printed (whatever it says), 2 for an unknown run id, 1 if the
    database cannot be read."""
    from liveexec.analysis import parity  # noqa: PLC0415 (see _orders_table)

    try:
        report = parity(db, run_a, run_b)
    except LiveexecError as exc:
        err().print(f"[bold red]error:[/] {exc}", highlight=False)
        code = 2 if isinstance(exc, ConfigError) else 3 if isinstance(exc, DataError) else 1
        raise typer.Exit(code) from None
    console = out()
    console.print(_summary_table(report))
    if not report.identical and rows:
        console.print(_orders_table(report, rows))
