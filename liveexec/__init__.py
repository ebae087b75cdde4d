"""liveexec: one typed config takes a NautilusTrader strategy from research to live trading.

    import liveexec
    cfg = liveexec.load_config("strategy.yaml")
    result = liveexec.backtest(cfg)          # recorded in the database
    again = liveexec.runs.load(result.run_id)
    paper = liveexec.paper(liveexec.load_config("strategy.yaml", overrides=["mode=paper"]))
    # liveexec.live(cfg) trades it (mode: live, after an approved promotion)

Names are imported on first use, so ``import liveexec`` stays cheap (NautilusTrader loads only
when a node is needed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from liveexec._version import __version__

if TYPE_CHECKING:
    from liveexec import analysis, config, db, pipeline, promotion, risk, runs, trading
    from liveexec.backtesting import backtest
    from liveexec.config import LiveexecConfig, load_config
    from liveexec.runs import RunResult
    from liveexec.trading import live, paper

__all__ = [
    "LiveexecConfig",
    "RunResult",
    "__version__",
    "analysis",
    "backtest",
    "config",
    "db",
    "live",
    "load_config",
    "paper",
    "pipeline",
    "promotion",
    "risk",
    "runs",
    "trading",
]

_LAZY = {
    "LiveexecConfig": ("liveexec.config", "LiveexecConfig"),
    "RunResult": ("liveexec.runs", "RunResult"),
    "backtest": ("liveexec.backtesting", "backtest"),
    "load_config": ("liveexec.config", "load_config"),
    "live": ("liveexec.trading", "live"),
    "paper": ("liveexec.trading", "paper"),
}


_SUBPACKAGES = frozenset(
    {"analysis", "config", "db", "pipeline", "promotion", "risk", "runs", "trading"}
)


def __getattr__(name: str) -> Any:  # noqa: ANN401 (module attribute protocol)
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"liveexec.{name}")
    raise AttributeError(f"module 'liveexec' has no attribute {name!r}")
