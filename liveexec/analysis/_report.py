"""One run as a self-contained HTML page people look at: what ran (strategy, instrument,
parameters, window, mode, config_id, status), its statistics, equity marked to market with its
drawdown, the trades on the price, monthly returns, and optionally its parity with another run.

Charts are plotly's (interactive: zoom, pan, hover), with plotly.js inlined once so the file
works offline. plotly loads on the first report only: ``import liveexec`` stays light.

    from liveexec import analysis
    analysis.report("5a6d7155", "report.html")                 # a run id or a unique prefix
    analysis.report("5a6d7155", "report.html", vs="9c01e2ab")  # with a parity panel
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from sqlalchemy import Engine

from liveexec.analysis._parity import ParityReport
from liveexec.analysis._parity import parity as parity_of
from liveexec.analysis._performance import drawdown
from liveexec.analysis._report_data import (
    MONTHS,
    PriceLine,
    break_gaps,
    decimate,
    fill_roles,
    monthly_table,
    price_line,
    trade_links,
)
from liveexec.config import resolve_database_url
from liveexec.db import create_db_engine, database_errors, require_current_schema
from liveexec.runs import (
    RunResult,
    load_run,
    marked_equity,
    read_market_data,
    resolve_run_id,
    strategy_parameters,
)

if TYPE_CHECKING:
    from plotly.graph_objects import Figure  # untyped: Any to mypy (see pyproject's overrides)

    from liveexec.config import CatalogConfig
    from liveexec.runs import MarketData

__all__ = ["report", "report_html"]

# Buckets of the decimated price line (each keeps its lowest and highest price): up to 2x this
# many points per chart, plus the price at every fill.
PRICE_BUCKETS = 1500
# Evenly spaced marks of the equity curve over the window, besides one at every fill.
EQUITY_MARKS = 1000
_PLOT_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": True}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_GREEN, _RED, _GREY, _BLUE = "#1a9850", "#d73027", "#7f7f7f", "#1f77b4"


@dataclass(frozen=True)
class _Context:
    """What every chart's title and axes say."""

    title: str  # "EMACross on BTCUSDT-PERP.SIM (fast_ema_period=10 ...)"
    currency: str  # of the money axes ("" when several)


def _instrument_spec(config: Mapping[str, Any], instrument_id: str) -> dict[str, Any]:
    for spec in config.get("instruments") or []:
        if str(spec.get("id")) == instrument_id:
            return dict(spec)
    return {}


def _price_unit(config: Mapping[str, Any], instrument_id: str) -> str:
    """The currency prices are quoted in, from the config's instrument definition."""
    spec = _instrument_spec(config, instrument_id)
    return str(spec.get("quote_currency") or spec.get("currency") or "")


def _instruments(result: RunResult) -> list[str]:
    traded = result.fills.get_column("instrument_id").unique().sort().to_list()
    if traded:
        return [str(i) for i in traded]
    streams = (result.config.get("data") or {}).get("streams") or []
    return sorted({str(s["instrument_id"]) for s in streams})


def _utc(ns: np.ndarray) -> np.ndarray:
    """UNIX ns as datetime64 (plotly draws them as they are: the axes say UTC)."""
    return ns.astype("datetime64[ns]")


def _ns(moment: datetime) -> int:
    """An aware datetime as UNIX ns, exactly (no float on the way)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000


def _when(moment: datetime | None) -> str:
    return "n/a" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _html_table(rows: list[tuple[str, str]], header: tuple[str, str] | None = None) -> str:
    head = (
        "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>"
        if header
        else ""
    )
    body = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(text)}</td></tr>"
        for label, text in rows
    )
    return f"<table>{head}<tbody>{body}</tbody></table>"


# --- charts -----------------------------------------------------------------------------------


def _time_axis(figure: Figure, row: int | None = None) -> None:
    figure.update_xaxes(title_text="time (UTC)", type="date", row=row, col=1 if row else None)


def _equity_figure(
    result: RunResult,
    market: MarketData,
    lines: dict[str, PriceLine],
    context: _Context,
) -> tuple[Figure, list[str]]:
    """Equity marked to market (and realized), buy and hold when the statistics have it, and
    the drawdown below; the notes saying what the curve is."""
    from plotly.subplots import make_subplots  # noqa: PLC0415 (plotly on first use)

    stats = result.statistics
    notes: list[str] = []
    fill_ns = result.fills.get_column("ts_event").to_numpy().astype(np.int64)
    start_ns = _ns(stats.start) if stats.start is not None else None
    end_ns = _ns(stats.end) if stats.end is not None else None
    if start_ns is None or end_ns is None:
        grid = np.sort(fill_ns)
    else:
        grid = np.linspace(start_ns, end_ns, EQUITY_MARKS).astype(np.int64)
    times = np.unique(np.concatenate((grid, fill_ns)))
    equity = marked_equity(
        result.positions,
        result.fills,
        result.config,
        times.tolist(),
        market=market,
        currency=stats.currency,
    )
    if not equity.marked:
        notes.append(f"equity is realized PnL only ({equity.problem})")
    else:
        notes.append(
            f"equity marked to market at {len(times):,} times (every fill, and "
            f"{EQUITY_MARKS:,} evenly spaced): open positions valued at the mid of the run's own "
            "prices from its catalog"
        )
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06
    )
    frame = drawdown(equity.frame)
    when = frame.get_column("time").dt.replace_time_zone(None).to_numpy()
    if equity.marked:
        figure.add_scatter(
            x=when,
            y=frame.get_column("equity").to_numpy(),
            mode="lines",
            name="equity (marked to market)",
            line={"color": _BLUE, "width": 1.4},
            row=1,
            col=1,
        )
    figure.add_scatter(
        x=when,
        y=frame.get_column("realized").to_numpy(),
        mode="lines",
        name="realized (balance)",
        line={"color": _GREY, "width": 1, "shape": "hv", "dash": "dot" if equity.marked else None},
        row=1,
        col=1,
    )
    if stats.benchmark_return is not None and stats.benchmark.height == 1 and frame.height:
        iid = str(stats.benchmark.item(0, "instrument_id"))
        line = lines.get(iid)
        start = stats.starting_balance
        if line is not None and start is not None and len(line.values):
            index = np.searchsorted(line.times, times, side="right") - 1
            inside = index >= 0
            hold = np.full(len(times), np.nan)
            hold[inside] = float(start) * line.values[index[inside]] / line.values[0]
            figure.add_scatter(
                x=when,
                y=hold,
                mode="lines",
                name=f"buy & hold {iid} (price return, before fees)",
                line={"color": "#ff7f0e", "width": 1},
                opacity=0.7,
                row=1,
                col=1,
            )
    figure.add_scatter(
        x=when,
        y=frame.get_column("drawdown").to_numpy() * 100,
        mode="lines",
        fill="tozeroy",
        name="drawdown",
        line={"color": _RED, "width": 1},
        row=2,
        col=1,
    )
    money = f"equity ({context.currency})" if context.currency else "equity"
    figure.update_yaxes(title_text=money, row=1, col=1)
    figure.update_yaxes(title_text="drawdown (%)", row=2, col=1)
    _time_axis(figure, row=2)
    figure.update_layout(
        title_text=f"Equity and drawdown<br><sup>{html.escape(context.title)}</sup>",
        height=560,
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18},
    )
    return figure, notes


def _trades_figure(
    result: RunResult, instrument_id: str, line: PriceLine | None, context: _Context
) -> tuple[Figure, int, list[str]]:
    """The price (decimated), every fill as an entry or exit marker, and a line from each
    closed position's entry to its exit; the markers drawn and the notes."""
    import plotly.graph_objects as go  # noqa: PLC0415 (plotly on first use)

    fills = fill_roles(result.fills).filter(pl.col("instrument_id") == instrument_id)
    links = trade_links(result.positions, result.orders, instrument_id)
    figure = go.Figure()
    notes: list[str] = []
    if line is not None and len(line.times):
        at_fills = np.searchsorted(line.times, fills.get_column("ts_event").to_numpy(), "right") - 1
        kept = decimate(line.times, line.values, PRICE_BUCKETS, at_fills[at_fills >= 0])
        # A pause of over 20 times the usual spacing (and over 3 buckets): no line across it.
        spacing = int(np.median(np.diff(line.times))) if len(line.times) > 1 else 0
        bucket = (int(line.times[-1]) - int(line.times[0])) // PRICE_BUCKETS
        times, values = break_gaps(
            line.times[kept], line.values[kept], max(20 * spacing, 3 * bucket, 1)
        )
        figure.add_scatter(
            x=_utc(times),
            y=values,
            mode="lines",
            name=f"price ({line.label})",
            line={"color": _GREY, "width": 1},
            hoverinfo="x+y",
        )
        if len(kept) < len(line.times):
            notes.append(
                f"price line: {len(kept):,} of {len(line.times):,} prices drawn (the lowest and "
                f"highest of each of {PRICE_BUCKETS:,} time buckets, and the price at every "
                "fill); every fill is drawn"
            )
    else:
        notes.append(f"no {instrument_id} prices in the run's catalog: fills only")
    for won, color in ((True, "rgba(26,152,80,0.6)"), (False, "rgba(215,48,39,0.6)")):
        chosen = links.filter((pl.col("realized_pnl") > 0) == won)
        if chosen.is_empty():
            continue
        xs: list[Any] = []
        ys: list[float | None] = []
        for opened, open_px, closed, close_px in chosen.select(
            pl.col("opened_at").dt.replace_time_zone(None),
            "avg_px_open",
            pl.col("closed_at").dt.replace_time_zone(None),
            "avg_px_close",
        ).iter_rows():
            xs += [opened, closed, None]
            ys += [open_px, close_px, None]
        figure.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=f"entry to exit, {'won' if won else 'lost or even'} ({chosen.height:,})",
            line={"color": color, "width": 1.2},
            hoverinfo="skip",
        )
    markers = 0
    shapes = {
        ("entry", "BUY"): ("triangle-up", _GREEN, "entry, buy"),
        ("entry", "SELL"): ("triangle-down", _RED, "entry, sell"),
        ("exit", "BUY"): ("x", _GREEN, "exit, buy"),
        ("exit", "SELL"): ("x", _RED, "exit, sell"),
    }
    for (role, side), (symbol, color, label) in shapes.items():
        chosen = fills.filter((pl.col("role") == role) & (pl.col("side") == side))
        if chosen.is_empty():
            continue
        markers += chosen.height
        figure.add_scatter(
            x=chosen.get_column("time").dt.replace_time_zone(None).to_numpy(),
            y=chosen.get_column("price").to_numpy(),
            mode="markers",
            name=f"{label} ({chosen.height:,})",
            marker={"symbol": symbol, "color": color, "size": 8, "line": {"width": 0}},
            customdata=chosen.get_column("quantity").to_numpy(),
            hovertemplate=f"{label}<br>%{{x}} UTC<br>price %{{y}}<br>quantity %{{customdata}}"
            "<extra></extra>",
        )
    unit = _price_unit(result.config, instrument_id)
    figure.update_yaxes(title_text=f"price ({unit})" if unit else "price")
    _time_axis(figure)
    figure.update_layout(
        title_text=f"{html.escape(instrument_id)}: trades on the price<br>"
        f"<sup>{html.escape(context.title)}</sup>",
        height=520,
        legend={"orientation": "h", "y": -0.2},
    )
    return figure, markers, notes


def _monthly_figure(result: RunResult, context: _Context) -> Figure | None:
    import plotly.graph_objects as go  # noqa: PLC0415 (plotly on first use)

    table = monthly_table(result.statistics.monthly)
    if table.is_empty():
        return None
    values = table.select(MONTHS).to_numpy().astype(np.float64) * 100
    text = [[("" if np.isnan(v) else f"{v:+.2f}%") for v in row] for row in values]
    limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    figure = go.Figure(
        go.Heatmap(
            z=values,
            x=list(MONTHS),
            y=[str(y) for y in table.get_column("year").to_list()],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0,
            zmin=-limit,
            zmax=limit,
            colorbar={"title": {"text": "return (%)", "side": "right"}, "thickness": 12},
            hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="month (UTC)")
    figure.update_yaxes(title_text="year", type="category", autorange="reversed")
    figure.update_layout(
        title_text="Monthly returns (equity marked to market at each month's end)<br>"
        f"<sup>{html.escape(context.title)}</sup>",
        height=230 + 40 * table.height,
    )
    return figure


# --- the page ---------------------------------------------------------------------------------


def _parity_html(parity: ParityReport) -> str:
    if parity.identical:
        words = f"{parity.matched}/{parity.orders_a} orders identical"
    else:
        words = (
            f"{parity.matched}/{max(parity.orders_a, parity.orders_b)} orders matched; "
            f"{parity.fills_differing} with a different fill price, "
            f"{parity.unmatched_a} only in A, {parity.unmatched_b} only in B"
        )
    return (
        "<section><h2>Parity</h2>"
        f"<p>Run B <code>{html.escape(parity.run_b)}</code> against run A "
        f"<code>{html.escape(parity.run_a)}</code>: <strong class='parity'>"
        f"{html.escape(words)}</strong>.</p>" + _html_table(list(parity.summary())) + "</section>"
    )


_STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 1.5em auto;
       max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { text-align: left; padding: 2px 12px 2px 0; vertical-align: top; }
tbody th { font-weight: normal; color: #555; }
.columns { display: flex; flex-wrap: wrap; gap: 3em; }
.notes { color: #555; font-size: 0.85em; }
.warning { background: #fff3cd; border: 1px solid #e0c36a; padding: 0.5em 0.8em; }
code { font-size: 0.95em; }
"""


def report_html(
    result: RunResult,
    *,
    market: MarketData | None = None,
    parity: ParityReport | None = None,
    catalog: CatalogConfig | str | Path | None = None,
) -> str:
    """The report of ``result`` as one HTML document (plotly.js inlined). ``market``: the run's
    prices (default: read from its catalog, or ``catalog``); ``parity``: a panel comparing it
    with another run."""
    import plotly.offline  # noqa: PLC0415 (plotly on first use)

    market = market if market is not None else read_market_data(result.config, catalog)
    stats = result.statistics
    instruments = _instruments(result)
    strategy = ", ".join(result.strategies) or "no strategy"
    parameters = strategy_parameters(result.config)
    title = f"{strategy} on {', '.join(instruments) or 'no instrument'}" + (
        f" ({parameters})" if parameters else ""
    )
    context = _Context(title, stats.currency or "")
    lines = {iid: price_line(series) for iid, series in market.series.items()}

    figures: list[tuple[str, Figure]] = []
    notes: list[str] = []
    equity, equity_notes = _equity_figure(result, market, lines, context)
    figures.append(("equity", equity))
    notes += equity_notes
    markers = 0
    for iid in instruments:
        trades, drawn, trade_notes = _trades_figure(result, iid, lines.get(iid), context)
        figures.append((f"trades {iid}", trades))
        markers += drawn
        notes += trade_notes
    monthly = _monthly_figure(result, context)
    if monthly is not None:
        figures.append(("monthly", monthly))

    window = (
        f"{_when(stats.start)} to {_when(stats.end)}"
        if stats.start is not None and stats.end is not None
        else "n/a"
    )
    header = [
        ("strategy", strategy),
        ("instruments", ", ".join(instruments) or "none"),
        ("parameters", parameters or "(the strategy's defaults)"),
        ("data window", window),
        ("mode", result.mode),
        ("config_id", result.config_id),
        ("run", result.run_id),
        ("status", result.status + (f" ({result.error})" if result.error else "")),
        (
            "recorded",
            f"{result.orders.height:,} orders, {result.fills.height:,} fills "
            f"({markers:,} drawn), {result.positions.height:,} positions",
        ),
        ("run started", _when(result.started_at)),
    ]
    charts = "".join(
        f'<section class="chart" data-chart="{html.escape(name)}">'
        + figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            config=_PLOT_CONFIG,
            default_width="100%",
        )
        + "</section>"
        for name, figure in figures
    )
    all_notes = list(dict.fromkeys([*notes, *stats.notes]))
    missing = (
        "<p class='warning'>Prices missing: "
        + html.escape("; ".join(market.problems))
        + ". Equity is realized PnL only where open positions could not be marked.</p>"
        if market.problems
        else ""
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}: liveexec {html.escape(result.mode)} run "
        f"{html.escape(result.run_id[:8])}</title>"
        f"<style>{_STYLE}</style>"
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>liveexec {html.escape(result.mode)} run, report made "
        f"{_when(datetime.now(UTC))}</p>"
        + missing
        + '<div class="columns"><section><h2>Run</h2>'
        + _html_table(header)
        + f"</section><section><h2>Statistics ({html.escape(stats.currency or 'n/a')})</h2>"
        + _html_table(result.formatted_statistics())
        + "</section></div>"
        + (_parity_html(parity) if parity is not None else "")
        + charts
        + (
            '<section class="notes"><h2>Notes</h2><ul>'
            + "".join(f"<li>{html.escape(n)}</li>" for n in all_notes)
            + "</ul></section>"
            if all_notes
            else ""
        )
        + "</body></html>\n"
    )


def _engine_report(
    engine: Engine,
    run: str,
    vs: str | None,
    catalog: CatalogConfig | str | Path | None,
) -> str:
    run_id = resolve_run_id(engine, run)
    result = load_run(engine, run_id, catalog=catalog)
    compared = parity_of(engine, run_id, resolve_run_id(engine, vs)) if vs is not None else None
    return report_html(result, parity=compared, catalog=catalog)


def report(
    run: str | RunResult,
    out: str | Path,
    *,
    database_url: str | Engine | None = None,
    vs: str | None = None,
    catalog: CatalogConfig | str | Path | None = None,
) -> Path:
    """Write the HTML report of ``run`` (a run id, a unique prefix of one, or a
    :class:`RunResult`) to ``out`` and return its path. ``vs``: another run (id or prefix)
    whose orders are compared with this one's in a parity panel. ``database_url``: an engine or
    a URL (default: the resolved default database); ``catalog``: where the run's prices are,
    when not where its config says."""
    target = Path(out)
    if isinstance(run, RunResult) and vs is None:
        document = report_html(run, catalog=catalog)
    else:
        run_id = run.run_id if isinstance(run, RunResult) else run
        if isinstance(database_url, Engine):
            document = _engine_report(database_url, run_id, vs, catalog)
        else:
            engine = create_db_engine(resolve_database_url(override=database_url), create=False)
            try:
                with database_errors(engine, "reading the run"):
                    require_current_schema(engine)
                    document = _engine_report(engine, run_id, vs, catalog)
            finally:
                engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(document, encoding="utf-8")
    return target
