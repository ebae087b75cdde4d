"""``liveexec`` commands. Exit codes: 0 success, 1 a run or the database failed, 2 bad input,
3 bad market data."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

from liveexec._version import __version__
from liveexec.cli import _keys, _lab, _live, _parity, _pipeline, _promotion, _risk
from liveexec.cli._options import DbOption
from liveexec.data import BarStamp, PresetName, ReadLimits, TimestampUnit
from liveexec.errors import ConfigError, ConfigIssue, DataError, LiveexecError, RunInterrupted
from liveexec.examples import EXAMPLES_DIR, example_configs

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from typer._click import Context, HelpFormatter  # the click typer runs (it vendors one)

    from liveexec.config import LiveexecConfig
    from liveexec.data import DataKind, Layout
    from liveexec.runs import RunResult

# `liveexec --help` and every command's --help import none of NautilusTrader, pandas, polars or
# SQLAlchemy: each command imports what it runs when it runs (liveexec.data's layouts and
# presets, imported here, are plain Python; tests/integration/test_cli_imports.py checks it).

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
EXIT_BAD_INPUT = 2
EXIT_DATA = 3  # a market data file is refused (DataError); nothing was written


def _out() -> Console:
    # Made per call so the terminal width (or $COLUMNS) is read when the command runs.
    return Console()


def _err() -> Console:
    return Console(stderr=True)


app = typer.Typer(
    name="liveexec",
    help=(
        "Take a NautilusTrader strategy from research to live trading with one config.\n\n"
        "Exit codes: 0 success, 1 a run or the database failed, 2 bad input (config, arguments), "
        "3 a market data file refused by `data import` (nothing written)."
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
runs_app = typer.Typer(
    help="Recorded runs: list them, show one, mark abandoned ones.", no_args_is_help=True
)
data_app = typer.Typer(help="Market data into a NautilusTrader catalog.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(runs_app, name="runs")
app.add_typer(data_app, name="data")
app.command("parity")(_parity.parity_command)
app.command("promote")(_promotion.promote_command)
app.add_typer(_promotion.promotions_app, name="promotions")
app.add_typer(_keys.keys_app, name="keys")
app.command("pipeline")(_pipeline.pipeline_command)
app.command("lab")(_lab.lab_command)
app.command("halt")(_risk.halt_command)
app.command("resume")(_risk.resume_command)
_live.register_live_commands(app)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config value: dotted.key=value (repeatable)."),
]


def _fail(exc: LiveexecError) -> typer.Exit:
    _err().print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
    if isinstance(exc, DataError):
        return typer.Exit(EXIT_DATA)
    return typer.Exit(EXIT_BAD_INPUT if isinstance(exc, ConfigError) else EXIT_FAILURE)


@app.command()
def version() -> None:
    """Print the versions of liveexec and NautilusTrader."""
    from importlib.metadata import version as dist_version  # noqa: PLC0415 (cheap --help)

    _out().print(f"liveexec {__version__}, nautilus_trader {dist_version('nautilus_trader')}")


ForCommand = Annotated[
    Literal["backtest", "paper", "live"] | None,
    typer.Option(
        "--for",
        help="Check the file as this command would run it (a config of another mode is "
        "refused, as that command refuses it). Default: the config's own mode.",
        show_default=False,
    ),
]


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
    command: ForCommand = None,
) -> None:
    """Validate a config and print its config_id; exit 2 with every error otherwise.

    Runs the preflight of the config's mode, exactly what `liveexec backtest`, `paper` and
    `live` run before they start: components import and accept their parameters, currencies,
    order sizes; backtest and paper replay: the catalog's instruments, streams and data window
    (without reading the market data); live and paper on venue data: keys not empty, every
    venue a component names has an adapter. What the run checks once its database is open
    (schema, promotion approval, the trader id's lease) is listed, not checked.
    """
    from liveexec.config import load_config  # noqa: PLC0415 (cheap --help)
    from liveexec.nodes import preflight  # noqa: PLC0415 (cheap --help)

    try:
        cfg = load_config(file, overrides=overrides or ())
        checked = preflight(cfg, str(file), command=command)
    except ConfigError as exc:
        raise _fail(exc) from None
    table = Table(title=f"{file}", show_header=False)
    table.add_row("config_id", cfg.config_id)
    table.add_row("mode", checked.stage)
    table.add_row("trader_id", cfg.trader_id)
    table.add_row("strategies", ", ".join(s.path.rsplit(":", 1)[1] for s in cfg.strategies) or "-")
    table.add_row("venues", ", ".join(v.name for v in cfg.venues) or "-")
    table.add_row("instruments", ", ".join(cfg.instrument_ids) or "-")
    _out().print(table)
    for note in checked.notes:
        _out().print(f"note: {note}", highlight=False)
    # Not run here: they need the run's database, and config check writes nothing anywhere.
    if checked.database_checks:
        _out().print(f"not checked here: `liveexec {cfg.mode}` checks once its database is open")
        for check in checked.database_checks:
            _out().print(f"  - {check}", highlight=False)
    _out().print(f"[green]valid[/] config_id={cfg.config_id}")


@config_app.command("schema")
def config_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of liveexec configs."""
    from liveexec.config import config_json_schema  # noqa: PLC0415 (cheap --help)

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
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import mask_url, upgrade  # noqa: PLC0415 (cheap --help)

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
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import downgrade, mask_url  # noqa: PLC0415 (cheap --help)

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
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import (  # noqa: PLC0415 (cheap --help)
        check_reachable,
        create_db_engine,
        database_errors,
        require_current_schema,
    )
    from liveexec.runs import reap_abandoned  # noqa: PLC0415 (cheap --help)

    url = resolve_database_url(override=db)
    try:
        engine = create_db_engine(url, create=False)
        try:
            with database_errors(engine, "reading"):
                (require_current_schema if require_schema else check_reachable)(engine)
                if require_schema:
                    reap_abandoned(engine)  # what runs list/show print is what the rows say
                yield url, engine
        finally:
            engine.dispose()
    except LiveexecError as exc:
        raise _fail(exc) from None


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Print the database's schema revision and this liveexec's head revision."""
    from liveexec.db import current_revision, head_revision, mask_url  # noqa: PLC0415 (cheap --help)

    with _database(db, require_schema=False) as (url, engine):
        current = current_revision(engine)
    head = head_revision()
    state = "up to date" if current == head else "behind: run `liveexec db upgrade`"
    _out().print(f"{mask_url(url)}: revision {current or 'none'} (head {head}, {state})")


@db_app.command("check")
def db_check(db: DbOption = None) -> None:
    """Exit 1 if the migrated schema differs from liveexec's models (migration drift)."""
    from liveexec.db import mask_url, schema_drift  # noqa: PLC0415 (cheap --help)

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
        account.add_row(
            *(
                f"{v.normalize():f}" if isinstance(v, Decimal) else ("-" if v is None else str(v))
                for v in row
            )
        )
    return [summary, account]


def _run_backtest(cfg: LiveexecConfig, url: str, source: str, *, show_progress: bool) -> RunResult:
    from rich.progress import (  # noqa: PLC0415 (cheap --help)
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from liveexec.backtesting import backtest  # noqa: PLC0415 (cheap --help)

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
    from liveexec.config import load_config, resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import mask_url  # noqa: PLC0415 (cheap --help)

    try:
        cfg = load_config(file, overrides=overrides or ())
        url = resolve_database_url(cfg, override=db)
        result = _run_backtest(cfg, url, str(file), show_progress=progress)
    except LiveexecError as exc:
        raise _fail(exc) from None
    except RunInterrupted as exc:
        # What the runs row says, read back: not what the CLI assumes.
        _err().print(f"interrupted: run {exc.run_id} is recorded as {exc.status!r}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
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
    from liveexec.db import mask_url  # noqa: PLC0415 (cheap --help)
    from liveexec.runs import list_runs  # noqa: PLC0415 (cheap --help)

    with _database(db, require_schema=True) as (url, engine):
        rows = list_runs(engine, limit=limit, config_id=config_id)
    table = Table(title=f"Runs in {mask_url(url)}")
    for column in ("run_id", "mode", "status", "config_id", "started_at", "orders"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(value) for value in row))
    _out().print(table)


@runs_app.command("reap")
def runs_reap(db: DbOption = None) -> None:
    """Mark 'abandoned' every running run whose owner is gone (killed, machine lost).

    On this machine a run's owner is gone when its process no longer exists; another machine's
    run when its heartbeat is over two minutes old. Every command that opens the database does
    this first; this command only says what it found.
    """
    from liveexec.db import require_current_schema  # noqa: PLC0415 (cheap --help)
    from liveexec.runs import reap_abandoned  # noqa: PLC0415 (cheap --help)

    with _database(db, require_schema=False) as (_url, engine):
        require_current_schema(engine)
        reaped = reap_abandoned(engine)
    for run_id in reaped:
        _out().print(f"abandoned: {run_id}")
    _out().print(f"{len(reaped)} run(s) marked abandoned")


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id from `liveexec runs list`.")],
    db: DbOption = None,
) -> None:
    """Summary, statistics and account of one run."""
    from liveexec.runs import load_run  # noqa: PLC0415 (cheap --help)

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


def _layout_for(
    kind: DataKind,
    preset: PresetName | None,
    *,
    columns: str | None,
    header: bool | None,
    timestamp_column: str | None,
    timestamp_unit: TimestampUnit | None,
    timestamp_format: str | None,
    bars_stamped_at: BarStamp | None,
    delimiter: str | None,
) -> Layout:
    """The layout the options describe: a preset's, or the default, with options on top."""
    import dataclasses  # noqa: PLC0415 (cheap --help)

    from liveexec.data import PRESETS, Layout  # noqa: PLC0415 (cheap --help)

    base = Layout()
    if preset is not None:
        chosen = PRESETS[preset]
        if chosen.kind != kind:
            msg = f"preset {preset!r} reads {chosen.kind}, not {kind}"
            raise ConfigError("--preset", [ConfigIssue("preset", msg)])
        base = chosen.layout
    names: tuple[str, ...] | None = None
    if columns is not None:
        names = tuple(name.strip() for name in columns.split(","))
        if not all(names):
            raise ConfigError(
                "--columns", [ConfigIssue("columns", f"{columns!r} has an empty name")]
            )
    try:
        return dataclasses.replace(
            base,
            columns=names if names is not None else base.columns,
            min_columns=None if names is not None else base.min_columns,
            header=header if header is not None else base.header,
            timestamp_column=timestamp_column or base.timestamp_column,
            timestamp_unit=timestamp_unit or base.timestamp_unit,
            timestamp_format=timestamp_format or base.timestamp_format,
            bars_stamped_at=bars_stamped_at or base.bars_stamped_at,
            delimiter=delimiter or base.delimiter,
        )
    except ValueError as exc:
        raise ConfigError("data import options", [ConfigIssue("layout", str(exc))]) from None


_LIMITS = ReadLimits()  # the defaults, for the help (plain Python: no NautilusTrader import)

_DATA_IMPORT_HELP = "\n\n".join(
    [
        "Check a whole market data file, then write it and the instrument into the catalog.",
        "Reads CSV (also .gz, .zst, or a .zip holding one CSV) and parquet, whatever the "
        "file's name. "
        "Every row is checked before anything is written: a file that fails leaves the catalog "
        "as it was and exits 3, naming the file, line and column at fault and the layout "
        "expected. Rows out of time order are sorted (stably) and the import says so; two bars "
        "at one time, a trade id twice, a quote row repeated whole, NaN or unparsable numbers, "
        "high below low, a bid above its ask, and times before 1990 or in the future are "
        "refused.",
        "Columns are found by name, case-insensitive: bars open,high,low,close[,volume] "
        "(or o,h,l,c,v); quotes bid,ask (or bid_price,ask_price)[,bid_size,ask_size]; trades "
        "price, quantity (or qty,size), trade_id (or id)[, buyer_maker or side BUY/SELL]. Other "
        "columns are ignored.",
        "Only regular files are read (a FIFO, a device or a link to one is refused at once), a "
        "block at a time: what one import reads and keeps is bounded by --max-bytes, --max-rows "
        "and --max-ratio, whose defaults a month of Binance klines or a busy day of trades "
        "passes. Memory grows with the rows kept, about 100 bytes each while they are checked.",
        "Presets (--preset):",
    ]
)


class _DataImportCommand(TyperCommand):
    """`data import`, whose help ends with the presets (built when that help is shown):
    `liveexec data --help` shows the command's first paragraph only."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        from liveexec.data import PRESETS  # noqa: PLC0415 (only this help lists them)

        self.help = "\n\n".join(
            [
                _DATA_IMPORT_HELP,
                *(
                    f"[bold]{preset.name}[/] ({preset.kind}): {preset.summary}"
                    for preset in PRESETS.values()
                ),
            ]
        )
        super().format_help(ctx, formatter)


@data_app.command(
    "import",
    cls=_DataImportCommand,
    help=_DATA_IMPORT_HELP,
    epilog=(
        "Examples:\n\n"
        "liveexec data import cfg.yaml --instrument BTCUSDT-PERP.SIM --bars bars.csv.gz "
        "--bar-type BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL\n\n"
        "liveexec data import cfg.yaml --instrument BTCUSDT.BINANCE --preset binance-klines "
        "--bars BTCUSDT-1m-2024-01.zip --bar-type BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL\n\n"
        "liveexec data import cfg.yaml --instrument BTCUSDT.BINANCE --preset binance-trades "
        "--trades BTCUSDT-trades-2024-01-01.csv\n\n"
        "liveexec data import cfg.yaml --instrument ES.XCME --bars es.csv "
        "--columns time,open,high,low,close,volume --timestamp-column time "
        "--timestamp-unit s --bar-type ES.XCME-1-HOUR-LAST-EXTERNAL\n\n"
        "liveexec data import cfg.yaml --instrument USD/JPY.SIM --bid bid.csv --ask ask.csv\n\n"
        "liveexec data import cfg.yaml --instrument EUR/USD.SIM --quotes q.csv "
        "--timestamp-format '%d.%m.%Y %H:%M:%S.%f'"
    ),
)
def data_import(
    file: Annotated[Path, typer.Argument(help="Config whose catalog and instruments to use.")],
    *,
    instrument: Annotated[str, typer.Option(help="Instrument id, defined in the config.")],
    bars: Annotated[
        Path | None, typer.Option(help="Bars file, CSV or parquet (needs --bar-type).")
    ] = None,
    bar_type: Annotated[
        str | None,
        typer.Option(
            help="The bars' type, e.g. BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL. With --bid/--ask "
            "only for bars stamped at their open (its interval moves them to their close)."
        ),
    ] = None,
    bid: Annotated[
        Path | None, typer.Option(help="Bid bars file, turned into quotes with --ask.")
    ] = None,
    ask: Annotated[
        Path | None, typer.Option(help="Ask bars file, turned into quotes with --bid.")
    ] = None,
    quotes: Annotated[
        Path | None,
        typer.Option(help="Quotes file, CSV or parquet (columns described above)."),
    ] = None,
    trades: Annotated[
        Path | None,
        typer.Option(help="Trades file, CSV or parquet (columns described above)."),
    ] = None,
    preset: Annotated[
        PresetName | None,
        typer.Option(
            help="A known layout, described above; the options below override its parts.",
            show_default=False,
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            help="The file's column names in order, comma-separated: for files without a header "
            "line, or to replace the header's names. Extra columns are ignored.",
            show_default=False,
        ),
    ] = None,
    header: Annotated[
        bool | None,
        typer.Option(
            "--header/--no-header",
            help="Whether the first line names the columns (default: detected, a first line "
            "with no number in it is a header).",
            show_default=False,
        ),
    ] = None,
    timestamp_column: Annotated[
        str | None,
        typer.Option(help="Column holding the times (default 'timestamp').", show_default=False),
    ] = None,
    timestamp_unit: Annotated[
        TimestampUnit | None,
        typer.Option(
            help="s, ms, us, ns (epoch numbers), iso8601 (naive times are UTC), or auto "
            "(default): ISO 8601 text, or the epoch unit that puts the first time between 1990 "
            "and now. Times outside 1990..now are refused with the unit that would fit.",
            show_default=False,
        ),
    ] = None,
    timestamp_format: Annotated[
        str | None,
        typer.Option(
            help="strftime format for other text times, e.g. '%d/%m/%Y %H:%M:%S.%f' "
            "('.%f' reads any fraction; times without %z are UTC).",
            show_default=False,
        ),
    ] = None,
    bars_stamped_at: Annotated[
        BarStamp | None,
        typer.Option(
            help="Whether bar times are the bars' close (default, NautilusTrader's convention) "
            "or open (moved to the close by the bar type's interval).",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV field separator (default ',').", show_default=False)
    ] = None,
    volume: Annotated[
        float | None,
        typer.Option(
            help="Volume of bars, and size of quotes, where the file has none (default "
            "NautilusTrader's 1,000,000).",
            show_default=False,
        ),
    ] = None,
    catalog: Annotated[
        str | None, typer.Option(help="Catalog path or URI (default: the config's).")
    ] = None,
    max_bytes: Annotated[
        str | None,
        typer.Option(
            help="Most text (CSV, after decompression) or column data (parquet) one import "
            f"reads, e.g. 8GiB or 500MB (default {_LIMITS.max_bytes_text}).",
            show_default=False,
        ),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option(
            help=f"Most data rows one import keeps (default {_LIMITS.max_rows:,}).",
            show_default=False,
        ),
    ] = None,
    max_ratio: Annotated[
        float | None,
        typer.Option(
            help="Most a gzip, zstd or zip file may expand, in times its compressed size, past "
            f"its first 64 MiB (default {_LIMITS.max_ratio:g}): compression bombs are refused.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check a whole market data file, then write it and the instrument into the catalog."""
    from liveexec.config import load_config  # noqa: PLC0415 (cheap --help)
    from liveexec.data import (  # noqa: PLC0415 (cheap --help)
        catalog_root,
        open_catalog,
        read_bars,
        read_bid_ask_bars_as_quotes,
        read_quotes,
        read_trades,
        write_data,
    )
    from liveexec.nodes import defined_instruments  # noqa: PLC0415 (cheap --help)

    kinds: list[tuple[DataKind, Path | None]] = [
        ("bars", bars),
        ("quotes", bid or ask),
        ("quotes", quotes),
        ("trades", trades),
    ]
    given = [(kind, path) for kind, path in kinds if path is not None]
    usage = (
        "error: give exactly one of --bars with --bar-type, --bid with --ask, --quotes, --trades"
    )
    if (
        len(given) != 1
        or (bars is not None and bar_type is None)
        or ((bid is None) != (ask is None))
        or (bar_type is not None and bars is None and bid is None)
    ):
        _err().print(usage, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    kind = given[0][0]
    try:
        unused = [
            option
            for option, value, applies in (
                ("--volume", volume, trades is None),
                ("--bars-stamped-at", bars_stamped_at, bars is not None or bid is not None),
            )
            if value is not None and not applies
        ]
        if unused:
            issue = ConfigIssue("options", f"{', '.join(unused)} do not apply to {kind}")
            raise ConfigError("data import", [issue])
        layout = _layout_for(
            "bars" if bid is not None else kind,
            preset,
            columns=columns,
            header=header,
            timestamp_column=timestamp_column,
            timestamp_unit=timestamp_unit,
            timestamp_format=timestamp_format,
            bars_stamped_at=bars_stamped_at,
            delimiter=delimiter,
        )
        try:
            limits = ReadLimits.from_options(
                max_bytes=max_bytes, max_rows=max_rows, max_ratio=max_ratio
            )
        except ValueError as exc:
            raise ConfigError("data import options", [ConfigIssue("limits", str(exc))]) from None
        cfg = load_config(file)
        found = [i for i in defined_instruments(cfg) if i.id.value == instrument]
        if not found:
            defined = [i.id.value for i in defined_instruments(cfg)]
            issue = ConfigIssue(
                "instruments", f"{instrument} is not defined (the config defines {defined})"
            )
            raise ConfigError(str(file), [issue])
        location = catalog or (cfg.data.catalog if cfg.data else None)
        if location is None:
            raise ConfigError(str(file), [ConfigIssue("data.catalog", "no catalog: use --catalog")])
        if bars is not None and bar_type is not None:
            parsed = read_bars(bars, found[0], bar_type, layout, volume=volume, limits=limits)
        elif bid is not None and ask is not None:
            parsed = read_bid_ask_bars_as_quotes(
                bid, ask, found[0], layout, bar_type=bar_type, volume=volume, limits=limits
            )
        elif quotes is not None:
            parsed = read_quotes(quotes, found[0], layout, volume=volume, limits=limits)
        else:
            assert trades is not None
            parsed = read_trades(trades, found[0], layout, limits=limits)
        # Opened only now: a file that fails does not even create the catalog's directory, and
        # a write that fails into a catalog this import created removes it again.
        root = catalog_root(location)
        created = root is not None and not root.exists()
        try:
            result = write_data(open_catalog(location), parsed)
        except (DataError, OSError) as exc:
            if created and root is not None:
                with contextlib.suppress(OSError):  # not empty: something else wrote into it
                    root.rmdir()
            if isinstance(exc, OSError):  # opening or reading it (its writes are DataErrors)
                reason = exc.strerror or type(exc).__name__
                # The path only: a config's catalog also holds storage options (credentials).
                path = location if isinstance(location, str) else location.path
                raise DataError(path, f"cannot open the catalog: {reason}") from None
            raise
    except LiveexecError as exc:
        raise _fail(exc) from None
    except MemoryError:
        # The limits keep an import well inside a normal machine's memory; a smaller one (or
        # a process limit) still ends in one line.
        files = ", ".join(str(path) for path in (bars, bid, ask, quotes, trades) if path)
        message = "ran out of memory; nothing was written"
        hint = "import the file in parts, or with a lower --max-rows"
        raise _fail(DataError(files, message, hint=hint)) from None
    where = location if isinstance(location, str) else location.path
    _out().print(
        f"wrote {result.written:,} row{'s' if result.written != 1 else ''}: "
        f"{result.kind} of {result.identifier}, "
        f"{result.start.isoformat()} to {result.end.isoformat()} "
        f"(times read as {result.timestamps}) into {where}",
        highlight=False,
    )
    for note in result.notes:
        _out().print(f"note: {note}", highlight=False)


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
    from liveexec.config import load_config, resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.db import mask_url, upgrade  # noqa: PLC0415 (cheap --help)
    from liveexec.demo import prepare_demo_catalog  # noqa: PLC0415 (cheap --help)

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
        "(tables runs, unified_orders, order_events, unified_positions, account_balances)."
    )
    _out().print(
        "Next: `liveexec runs show RUN_ID`; "
        "`liveexec backtest CONFIG --set key=value` on a copy of "
        f"an example in {EXAMPLES_DIR}; "
        "in Python, `liveexec.runs.load(run_id)` gives polars frames."
    )


def _terminate(_signum: int, _frame: object) -> None:
    # SIGTERM ends a run like Ctrl-C: flushed, closed, recorded as 'interrupted'.
    raise KeyboardInterrupt


def _ended() -> None:
    # The command has ended: further Ctrl-Cs (a user pressing it again, a script sending
    # several) must interrupt neither what is said nor the exit, nor turn the exit code into a
    # death by signal while the interpreter shuts down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except KeyboardInterrupt:
        # Before a run opened (or after it was reported): nothing was left half-recorded.
        _ended()
        sys.stderr.write("interrupted\n")  # plain: rich imports on first use
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as exc:
        _ended()
        # typer turns a Ctrl-C inside a command that does not report it itself (one still
        # importing what it runs, say) into a silent exit 130: say it, as above. A command that
        # reported its interrupted run exits 130 with no KeyboardInterrupt behind it.
        raised = exc.__context__
        if exc.code == EXIT_INTERRUPTED and isinstance(
            getattr(raised, "__cause__", None), KeyboardInterrupt
        ):
            sys.stderr.write("interrupted\n")
        raise
    finally:
        _ended()
