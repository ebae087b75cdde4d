"""``liveexec`` commands. Exit codes: 0 success, 1 a run or the database failed, 2 bad input."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from liveexec._version import __version__
from liveexec.backtesting import backtest
from liveexec.config import (
    LiveexecConfig,
    config_json_schema,
    load_config,
    resolve_database_url,
)
from liveexec.data import (
    import_bars_csv,
    import_bid_ask_bars_as_quotes,
    import_quotes_parquet,
    import_trades_parquet,
    open_catalog,
    write_instruments,
)
from liveexec.db import (
    check_reachable,
    create_db_engine,
    current_revision,
    downgrade,
    head_revision,
    mask_url,
    require_current_schema,
    schema_drift,
    upgrade,
)
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError, ConfigIssue, LiveexecError
from liveexec.examples import EXAMPLES_DIR, example_configs
from liveexec.nodes import defined_instruments
from liveexec.runs import RunResult, list_runs, load_run

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _out() -> Console:
    # Made per call so the terminal width (or $COLUMNS) is read when the command runs.
    return Console()


def _err() -> Console:
    return Console(stderr=True)


app = typer.Typer(
    name="liveexec",
    help=(
        "Take a NautilusTrader strategy from research to live trading with one config.\n\n"
        "Exit codes: 0 success, 1 a run or the database failed, 2 bad input (config, arguments)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Validate configs and print their JSON Schema.", no_args_is_help=True)
db_app = typer.Typer(
    help=(
        "Create and migrate the database (Alembic). The URL is, first found: --db, "
        "$LIVEEXEC_DATABASE_URL, the embedded SQLite default."
    ),
    no_args_is_help=True,
)
runs_app = typer.Typer(help="Recorded runs: list them, show one.", no_args_is_help=True)
data_app = typer.Typer(help="Market data into a NautilusTrader catalog.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(runs_app, name="runs")
app.add_typer(data_app, name="data")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///PATH or postgresql://USER@HOST:PORT/DB).",
        show_default=False,
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config value: dotted.key=value (repeatable)."),
]


def _fail(exc: LiveexecError) -> typer.Exit:
    _err().print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
    return typer.Exit(EXIT_BAD_INPUT if isinstance(exc, ConfigError) else EXIT_FAILURE)


@app.command()
def version() -> None:
    """Print the versions of liveexec and NautilusTrader."""
    from importlib.metadata import version as dist_version  # noqa: PLC0415 (cheap --help)

    _out().print(f"liveexec {__version__}, nautilus_trader {dist_version('nautilus_trader')}")


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
) -> None:
    """Validate a config and print its config_id; exit 2 with every error otherwise."""
    try:
        cfg = load_config(file, overrides=overrides or ())
    except ConfigError as exc:
        raise _fail(exc) from None
    table = Table(title=f"{file}", show_header=False)
    table.add_row("config_id", cfg.config_id)
    table.add_row("mode", cfg.mode)
    table.add_row("trader_id", cfg.trader_id)
    table.add_row("strategies", ", ".join(s.path.rsplit(":", 1)[1] for s in cfg.strategies) or "-")
    table.add_row("venues", ", ".join(v.name for v in cfg.venues) or "-")
    table.add_row("instruments", ", ".join(cfg.instrument_ids) or "-")
    _out().print(table)
    _out().print(f"[green]valid[/] config_id={cfg.config_id}")


@config_app.command("schema")
def config_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of liveexec configs."""
    text = config_json_schema()
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")


@db_app.command("upgrade")
def db_upgrade(
    db: DbOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the database schema up to a revision (default: head)."""
    url = resolve_database_url(override=db)
    try:
        upgrade(url, revision)
    except LiveexecError as exc:
        raise _fail(exc) from None
    _out().print(f"{mask_url(url)} is at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision: an id, -1, or base.")],
    db: DbOption = None,
) -> None:
    """Migrate the schema down to a revision ('base' drops every liveexec table)."""
    url = resolve_database_url(override=db)
    try:
        downgrade(url, revision)
    except LiveexecError as exc:
        raise _fail(exc) from None
    _out().print(f"{mask_url(url)} is at revision {revision}")


@contextmanager
def _database(db: str | None, *, require_schema: bool) -> Iterator[tuple[str, Engine]]:
    """The database of --db (or the default), reachable and, if asked, at the head revision;
    liveexec errors inside become a clear message and exit code."""
    url = resolve_database_url(override=db)
    try:
        engine = create_db_engine(url)
        try:
            (require_current_schema if require_schema else check_reachable)(engine)
            yield url, engine
        finally:
            engine.dispose()
    except LiveexecError as exc:
        raise _fail(exc) from None


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Print the database's schema revision and this liveexec's head revision."""
    with _database(db, require_schema=False) as (url, engine):
        current = current_revision(engine)
    head = head_revision()
    state = "up to date" if current == head else "behind: run `liveexec db upgrade`"
    _out().print(f"{mask_url(url)}: revision {current or 'none'} (head {head}, {state})")


@db_app.command("check")
def db_check(db: DbOption = None) -> None:
    """Exit 1 if the migrated schema differs from liveexec's models (migration drift)."""
    with _database(db, require_schema=False) as (url, engine):
        drift = schema_drift(engine)
    if drift:
        for item in drift:
            _err().print(f"drift: {item}", highlight=False)
        raise typer.Exit(EXIT_FAILURE)
    _out().print(f"{mask_url(url)}: schema matches the models")


def _result_tables(result: RunResult) -> list[Table]:
    summary = Table(title=f"Run {result.run_id}", show_header=False)
    summary.add_row("status", result.status)
    summary.add_row("mode", result.mode)
    summary.add_row("config_id", result.config_id)
    summary.add_row("orders", str(result.orders.height))
    summary.add_row("fills", str(result.fills.height))
    summary.add_row("positions", str(result.positions.height))
    for name, value in result.statistics.items():
        text = (
            "-" if value is None else (f"{value:,.4f}" if isinstance(value, float) else str(value))
        )
        summary.add_row(name, text)
    account = Table(title="Account")
    for column in result.account.columns:
        account.add_column(column, justify="right" if column != "currency" else "left")
    for row in result.account.iter_rows():
        account.add_row(*(f"{v.normalize():f}" if isinstance(v, Decimal) else str(v) for v in row))
    return [summary, account]


def _run_backtest(cfg: LiveexecConfig, url: str, source: str, *, show_progress: bool) -> RunResult:
    if not show_progress:
        return backtest(cfg, database_url=url, source=source)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    ) as bar:
        task = bar.add_task(f"backtest {Path(source).name}", total=1.0)
        return backtest(
            cfg,
            database_url=url,
            source=source,
            progress=lambda fraction: bar.update(task, completed=fraction),
        )


@app.command("backtest")
def backtest_command(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
    db: DbOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run a backtest with NautilusTrader's BacktestNode; record it; print a summary and run id."""
    try:
        cfg = load_config(file, overrides=overrides or ())
        url = resolve_database_url(cfg, override=db)
        result = _run_backtest(cfg, url, str(file), show_progress=progress)
    except LiveexecError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        _err().print("interrupted: the run is recorded as 'interrupted'")
        raise typer.Exit(130) from None
    for table in _result_tables(result):
        _out().print(table)
    _out().print(f"run id: {result.run_id} (stored in {mask_url(url)})")


@runs_app.command("list")
def runs_list(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 20,
    config_id: Annotated[str | None, typer.Option(help="Only runs of this config_id.")] = None,
) -> None:
    """The latest runs, newest first."""
    with _database(db, require_schema=True) as (url, engine):
        rows = list_runs(engine, limit=limit, config_id=config_id)
    table = Table(title=f"Runs in {mask_url(url)}")
    for column in ("run_id", "mode", "status", "config_id", "started_at", "orders"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(value) for value in row))
    _out().print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id from `liveexec runs list`.")],
    db: DbOption = None,
) -> None:
    """Summary, statistics and account of one run."""
    with _database(db, require_schema=True) as (_url, engine):
        try:
            result = load_run(engine, run_id)
        except KeyError as exc:
            _err().print(f"[bold red]error:[/] {exc.args[0]}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    for table in _result_tables(result):
        _out().print(table)
    if result.error:
        _out().print(f"error: {result.error}")


@data_app.command("import")
def data_import(
    file: Annotated[Path, typer.Argument(help="Config whose catalog and instruments to use.")],
    *,
    instrument: Annotated[str, typer.Option(help="Instrument id, defined in the config.")],
    bars: Annotated[Path | None, typer.Option(help="OHLCV bars CSV (needs --bar-type).")] = None,
    bar_type: Annotated[
        str | None, typer.Option(help="e.g. BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL")
    ] = None,
    bid: Annotated[
        Path | None, typer.Option(help="Bid bars CSV, turned into quotes with --ask.")
    ] = None,
    ask: Annotated[
        Path | None, typer.Option(help="Ask bars CSV, turned into quotes with --bid.")
    ] = None,
    quotes: Annotated[Path | None, typer.Option(help="Quote table (parquet).")] = None,
    trades: Annotated[Path | None, typer.Option(help="Trade table (parquet).")] = None,
    catalog: Annotated[
        str | None, typer.Option(help="Catalog path or URI (default: the config's).")
    ] = None,
) -> None:
    """Write market data and the instrument into a NautilusTrader ParquetDataCatalog."""
    sources = [x for x in (bars, bid or ask, quotes, trades) if x is not None]
    if (
        len(sources) != 1
        or (bars is not None and bar_type is None)
        or ((bid is None) != (ask is None))
    ):
        _err().print(
            "error: give exactly one of --bars with --bar-type, --bid with --ask, --quotes, "
            "--trades"
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        cfg = load_config(file)
        found = [i for i in defined_instruments(cfg) if i.id.value == instrument]
        if not found:
            raise ConfigError(
                str(file), [ConfigIssue("instruments", f"{instrument} is not defined")]
            )
        location = catalog or (cfg.data.catalog.path if cfg.data else None)
        if location is None:
            raise ConfigError(str(file), [ConfigIssue("data.catalog", "no catalog: use --catalog")])
        target = open_catalog(location)
        write_instruments(target, found)
        if bars is not None and bar_type is not None:
            count = import_bars_csv(target, found[0], bar_type, bars)
        elif bid is not None and ask is not None:
            count = import_bid_ask_bars_as_quotes(target, found[0], bid, ask)
        elif quotes is not None:
            count = import_quotes_parquet(target, found[0], quotes)
        else:
            assert trades is not None
            count = import_trades_parquet(target, found[0], trades)
    except LiveexecError as exc:
        raise _fail(exc) from None
    _out().print(f"wrote {count:,} rows for {instrument} to {location}")


@app.command()
def demo(
    db: DbOption = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Run the bundled examples on bundled real data and record them in the database.

    Creates and migrates the database (embedded SQLite unless --db or $LIVEEXEC_DATABASE_URL),
    builds the catalog from the bundled data, then backtests an EMA cross on BTC perpetual
    1-minute bars, a quote-driven market maker on Binance BTCUSDT quotes and NautilusTrader's
    USD/JPY EMA cross acceptance run.
    """
    url = resolve_database_url(override=db)
    overview = Table(title="Demo runs")
    for column in ("config", "run_id", "orders", "positions", "total_pnl", "config_id"):
        overview.add_column(column, overflow="fold")
    try:
        upgrade(url)
        for path in example_configs():
            cfg = load_config(path, overrides=["logging.level=ERROR"])
            prepare_demo_catalog(cfg)
            result = _run_backtest(cfg, url, str(path), show_progress=progress)
            pnl = result.statistics.get("total_pnl")
            currency = ", ".join(result.positions.get_column("currency").unique().to_list())
            overview.add_row(
                path.name,
                result.run_id,
                str(result.orders.height),
                str(result.positions.height),
                f"{pnl:,.2f} {currency}" if isinstance(pnl, float) else "-",
                result.config_id,
            )
    except LiveexecError as exc:
        raise _fail(exc) from None
    _out().print(overview)
    _out().print(
        f"Recorded in {mask_url(url)} "
        "(tables runs, unified_orders, order_events, unified_positions)."
    )
    _out().print(
        "Next: `liveexec runs show RUN_ID`; "
        "`liveexec backtest CONFIG --set key=value` on a copy of "
        f"an example in {EXAMPLES_DIR}; "
        "in Python, `liveexec.runs.load(run_id)` gives polars frames."
    )


def main() -> None:
    app()
