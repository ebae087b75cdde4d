"""Analysis of recorded runs and of the market data they ran on, read from the tables and the
catalog only (never from a node's memory): typed, tested, and what the notebooks show.

    from liveexec import analysis
    analysis.catalog_summary("catalog")                  # rows, span, gaps per stream
    curve = analysis.drawdown(analysis.equity_curve(result))
    analysis.show(analysis.plot_equity(curve))
    report = analysis.parity(None, run_a, run_b)         # two runs' orders aligned
    analysis.compare(None, run_a, run_b, run_c)          # their statistics side by side
    analysis.report(run_a, "report.html", vs=run_b)      # one run as an HTML page (plotly)
"""

from liveexec.analysis._catalog import CatalogData, catalog_data, catalog_summary, load_prices
from liveexec.analysis._compare import Comparison, compare
from liveexec.analysis._notebook import (
    BacktestParameters,
    ExploreParameters,
    NotebookParameters,
    PaperValidateParameters,
    PromoteParameters,
    notebook_parameters,
)
from liveexec.analysis._parity import ParityReport, parity
from liveexec.analysis._performance import drawdown, equity_curve, trades
from liveexec.analysis._plots import (
    plot_equity,
    plot_parity,
    plot_prices,
    plot_trades,
    png,
    save,
    show,
)
from liveexec.analysis._report import report, report_html

__all__ = [
    "BacktestParameters",
    "CatalogData",
    "Comparison",
    "ExploreParameters",
    "NotebookParameters",
    "PaperValidateParameters",
    "ParityReport",
    "PromoteParameters",
    "catalog_data",
    "catalog_summary",
    "compare",
    "drawdown",
    "equity_curve",
    "load_prices",
    "notebook_parameters",
    "parity",
    "plot_equity",
    "plot_parity",
    "plot_prices",
    "plot_trades",
    "png",
    "report",
    "report_html",
    "save",
    "show",
    "trades",
]
