"""``liveexec data import``: market data files into a NautilusTrader catalog."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand

from liveexec.cli._common import EXIT_BAD_INPUT, err, fail, group, out
from liveexec.data import BarStamp, PresetName, ReadLimits, TimestampUnit
from liveexec.errors import ConfigError, ConfigIssue, DataError, LiveexecError

if TYPE_CHECKING:
    from typer._click import Context, HelpFormatter  # the click typer runs (it vendors one)

    from liveexec.data import DataKind, Layout

__all__ = ["data_app"]

data_app = group("Market data into a NautilusTrader catalog.")


def _layout_for(
    kind: DataKind,
    preset: PresetName | None,
    *,
    columns: str | None,
    header: bool | None,
    timestamp_column: str | None,
    timestamp_unit: TimestampUnit | None,
    timestamp_format: str | None,
    timezone: str | None,
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
            timezone=timezone or base.timezone,
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
        "refused. Prices and sizes with more decimals than the instrument's precision are "
        "refused unless --round-to-precision. Bars of a fixed interval must end on a whole unit "
        "of it (a whole minute for MINUTE bars and longer), be no closer than the interval "
        "(an hour less for multi-hour bars, whose UTC times move at DST changes; half of it for "
        "DAY and WEEK bars), and not all be a larger interval apart (5-minute bars "
        "under a 1-MINUTE bar type); larger gaps (weekends, missing bars) are fine.",
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
                    f"**{preset.name}** ({preset.kind}): {preset.summary}"
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
            "('.%f' reads any fraction; times without %z are UTC unless --timezone).",
            show_default=False,
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Time zone of times written without an offset (local exchange time): an IANA "
            "name such as America/Chicago, or a UTC offset such as +02:00; converted to UTC "
            "across DST (a skipped time is refused; a repeated one is the first pass until "
            "the times go back). Not for epoch numbers or times with an offset.",
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
    round_to_precision: Annotated[
        bool,
        typer.Option(
            "--round-to-precision",
            help="Round prices and sizes with more decimals than the instrument's "
            "price_precision and size_precision (refused by default); the summary says how "
            "many were rounded.",
        ),
    ] = False,
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
        err().print(usage, highlight=False)
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
            timezone=timezone,
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
        rounding = round_to_precision
        if bars is not None and bar_type is not None:
            parsed = read_bars(
                bars,
                found[0],
                bar_type,
                layout,
                volume=volume,
                limits=limits,
                round_to_precision=rounding,
            )
        elif bid is not None and ask is not None:
            parsed = read_bid_ask_bars_as_quotes(
                bid,
                ask,
                found[0],
                layout,
                bar_type=bar_type,
                volume=volume,
                limits=limits,
                round_to_precision=rounding,
            )
        elif quotes is not None:
            parsed = read_quotes(
                quotes, found[0], layout, volume=volume, limits=limits, round_to_precision=rounding
            )
        else:
            assert trades is not None
            parsed = read_trades(
                trades, found[0], layout, limits=limits, round_to_precision=rounding
            )
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
        raise fail(exc) from None
    except MemoryError:
        # The limits keep an import well inside a normal machine's memory; a smaller one (or
        # a process limit) still ends in one line.
        files = ", ".join(str(path) for path in (bars, bid, ask, quotes, trades) if path)
        message = "ran out of memory; nothing was written"
        hint = "import the file in parts, or with a lower --max-rows"
        raise fail(DataError(files, message, hint=hint)) from None
    where = location if isinstance(location, str) else location.path
    out().print(
        f"wrote {result.written:,} row{'s' if result.written != 1 else ''}: "
        f"{result.kind} of {result.identifier}, "
        f"{result.start.isoformat()} to {result.end.isoformat()} "
        f"(times read as {result.timestamps}) into {where}",
        highlight=False,
    )
    if round_to_precision:
        rounded = f"{result.rounded:,} value{'s' if result.rounded != 1 else ''}"
        out().print(f"rounded {rounded} to the instrument's precision", highlight=False)
    for note in result.notes:
        out().print(f"note: {note}", highlight=False)
