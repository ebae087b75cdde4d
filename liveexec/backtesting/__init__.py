"""Backtests: a liveexec config run by NautilusTrader's BacktestNode, recorded in the tables."""

from liveexec.backtesting._build import build_backtest_run_config, build_risk_engine_config
from liveexec.backtesting._preflight import Preflight, preflight
from liveexec.backtesting._run import backtest

__all__ = [
    "Preflight",
    "backtest",
    "build_backtest_run_config",
    "build_risk_engine_config",
    "preflight",
]
