"""Backtests: a liveexec config run by NautilusTrader's BacktestNode, recorded in the tables."""

from liveexec.backtesting._run import backtest

__all__ = ["backtest"]
