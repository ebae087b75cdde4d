"""Backtests: a liveexec config run by NautilusTrader's BacktestNode, recorded in the tables."""

from liveexec.backtesting._build import build_backtest_run_config
from liveexec.backtesting._run import NautilusReports, backtest, preflight

__all__ = ["NautilusReports", "backtest", "build_backtest_run_config", "preflight"]
