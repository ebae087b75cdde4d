"""``liveexec backtest`` and ``liveexec demo``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from liveexec.cli._common import (
    EXIT_INTERRUPTED,
    DbOption,
    SetOption,
    err,
    fail,
    out,
    progress_bar,
    result_tables,
)
from liveexec.errors import LiveexecError, RunInterrupted
from liveexec.examples import EXAMPLES_DIR, example_configs

if TYPE_CHECKING:
    from liveexec.config import LiveexecConfig
    from liveexec.runs import RunResult

__all__ = ["backtest_command", "demo_command"]


def run_backtest(cfg: LiveexecConfig, url: str, source: str, *, show_progress: bool) -> RunResult:
    from liveexec.backtesting import backtest  # noqa: PLC0415 (cheap --help)

    if not show_progress:
        return backtest(cfg, database_url=url, source=source)
    with progress_bar(f"backtest {Path(source).name}") as progress:
        return backtest(cfg, database_url=url, source=source, progress=progress)


def backtest_command(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
    db: DbOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a backtest with NautilusTrader's BacktestNode; record it; print a summary and run id."""
    from liveexec.config import load_config, resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import mask_url  # noqa: PLC0415 (cheap --help)

    try:
        cfg = load_config(file, overrides=overrides or ())
        url = resolve_database_url(cfg, override=db)
        result = run_backtest(cfg, url, str(file), show_progress=progress)
    except LiveexecError as exc:
        raise fail(exc) from None
    except RunInterrupted as exc:
        # What the runs row says, read back: not what the CLI assumes.
        err().print(f"interrupted: run {exc.run_id} is recorded as {exc.status!r}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    for table in result_tables(result):
        out().print(table)
    out().print(f"run id: {result.run_id} (stored in {mask_url(url)})")


def demo_command(
    db: DbOption = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Run the bundled examples on bundled real data and record them in the database.

    Creates and migrates the database (embedded SQLite unless --db or $LIVEEXEC_DATABASE_URL),
    builds the catalog from the bundled data, then backtests an EMA cross on BTC perpetual
    1-minute bars, a quote-driven market maker on Binance BTCUSDT quotes and NautilusTrader's
    USD/JPY EMA cross acceptance run.
    """
    from liveexec.config import load_config, resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import mask_url, upgrade  # noqa: PLC0415 (cheap --help)
    from liveexec.demo import prepare_demo_catalog  # noqa: PLC0415 (cheap --help)
    from liveexec.runs import format_money  # noqa: PLC0415 (cheap --help)

    url = resolve_database_url(override=db)
    overview = Table(title="Demo runs")
    for column in ("config", "run_id", "orders", "positions", "total_pnl", "config_id"):
        overview.add_column(column, overflow="fold")
    try:
        upgrade(url)
        for path in example_configs():
            cfg = load_config(path, overrides=["logging.level=ERROR"])
            prepare_demo_catalog(cfg)
            result = run_backtest(cfg, url, str(path), show_progress=progress)
            overview.add_row(
                path.name,
                result.run_id,
                str(result.orders.height),
                str(result.positions.height),
                format_money(result.statistics.total_pnl, result.currency),
                result.config_id,
            )
    except LiveexecError as exc:
        raise fail(exc) from None
    out().print(overview)
    out().print(
        f"Recorded in {mask_url(url)} "
        "(tables runs, unified_orders, order_events, unified_positions, account_balances)."
    )
    out().print(
        "Next: `liveexec runs show RUN_ID`; "
        "`liveexec backtest CONFIG --set key=value` on a copy of "
        f"an example in {EXAMPLES_DIR}; "
        "in Python, `liveexec.runs.load(run_id)` gives polars frames."
    )
