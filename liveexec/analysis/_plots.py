"""Static charts (matplotlib, Agg backend): they render as PNG images in executed notebooks, so
they show in HTML exports and in review. Each function returns a ``Figure``; :func:`show`
displays it in a notebook, :func:`save` writes it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_equity", "plot_parity", "plot_prices", "plot_trades", "png", "save", "show"]

_SIZE = (10.0, 4.5)


def _figure(rows: int = 1, height_ratios: list[float] | None = None) -> tuple[Figure, list]:  # type: ignore[type-arg]
    # matplotlib loads with the first chart, not with liveexec.analysis: `liveexec backtest`
    # imports the analysis through the promotion gate and draws nothing (~0.5 s of imports).
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(_SIZE[0], _SIZE[1] * (1 + 0.35 * (rows - 1))), layout="constrained")
    FigureCanvasAgg(figure)  # no pyplot: no global state, no GUI backend
    axes = figure.subplots(rows, 1, sharex=True, height_ratios=height_ratios, squeeze=False)
    return figure, [row[0] for row in axes]


def plot_prices(prices: pl.DataFrame, title: str = "") -> Figure:
    """Prices of one stream from :func:`load_prices`: bars' close, trades' price, or quotes'
    bid/ask with the spread below."""
    quotes = "spread" in prices.columns
    figure, axes = _figure(2 if quotes else 1, [3, 1] if quotes else None)
    time = prices.get_column("ts_event").to_numpy()
    if quotes:
        axes[0].plot(time, prices.get_column("bid").to_numpy(), lw=0.7, label="bid")
        axes[0].plot(time, prices.get_column("ask").to_numpy(), lw=0.7, label="ask")
        axes[0].legend(loc="upper left")
        axes[1].plot(time, prices.get_column("spread").to_numpy(), lw=0.7, color="tab:gray")
        axes[1].set_ylabel("spread")
    else:
        column = "close" if "close" in prices.columns else "price"
        axes[0].plot(time, prices.get_column(column).to_numpy(), lw=0.7, label=column)
    axes[0].set_ylabel("price")
    axes[0].set_title(title)
    return figure


def plot_equity(drawdown: pl.DataFrame, title: str = "", currency: str = "") -> Figure:
    """Equity (steps at each closed position) and drawdown, from :func:`drawdown`."""
    figure, (top, bottom) = _figure(2, [3, 1])
    time = drawdown.get_column("time").to_numpy()
    top.step(time, drawdown.get_column("equity").to_numpy(), where="post", lw=1.0)
    top.set_ylabel(f"equity {currency}".strip())
    top.set_title(title)
    bottom.fill_between(
        time, drawdown.get_column("drawdown").to_numpy() * 100, 0, step="post", color="tab:red"
    )
    bottom.set_ylabel("drawdown %")
    return figure


def plot_trades(prices: pl.DataFrame, trades: pl.DataFrame, title: str = "") -> Figure:
    """Fills from :func:`trades` on the price: buys as green triangles up, sells red down."""
    figure, (axis,) = _figure()
    column = next(c for c in ("close", "mid", "price") if c in prices.columns)
    axis.plot(
        prices.get_column("ts_event").to_numpy(),
        prices.get_column(column).to_numpy(),
        lw=0.7,
        color="tab:gray",
        label=column,
    )
    for side, marker, color in (("BUY", "^", "tab:green"), ("SELL", "v", "tab:red")):
        fills = trades.filter(pl.col("side") == side)
        axis.scatter(
            fills.get_column("time").to_numpy(),
            fills.get_column("price").to_numpy(),
            marker=marker,
            color=color,
            s=18,
            label=f"{side.lower()} ({fills.height})",
            zorder=3,
        )
    axis.legend(loc="upper left")
    axis.set_ylabel("price")
    axis.set_title(title)
    return figure


def plot_parity(orders: pl.DataFrame, title: str = "") -> Figure:
    """Per aligned order (from :func:`parity`): the fill price difference in ticks and the
    fee difference, B minus A."""
    figure, (top, bottom) = _figure(2)
    sequence = orders.get_column("sequence").to_numpy()
    top.bar(sequence, orders.get_column("fill_px_diff_ticks").fill_null(0).to_numpy(), width=1.0)
    top.set_ylabel("fill price B - A (ticks)")
    top.set_title(title)
    bottom.bar(
        sequence,
        orders.get_column("fees_diff").cast(pl.Float64).fill_null(0).to_numpy(),
        width=1.0,
        color="tab:orange",
    )
    bottom.set_ylabel("fees B - A")
    bottom.set_xlabel("order in the strategy's sequence")
    return figure


def png(figure: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save(figure: Figure, path: str | Path, dpi: int = 100) -> Path:
    target = Path(path)
    target.write_bytes(png(figure, dpi))
    return target


def show(figure: Figure) -> None:
    """Display the figure as a PNG image in the current notebook cell."""
    from IPython.display import Image, display  # noqa: PLC0415 (notebooks only)

    image = Image(data=png(figure), format="png")  # type: ignore[no-untyped-call]  # IPython's display API is untyped
    display(image)  # type: ignore[no-untyped-call]  # IPython's display API is untyped
