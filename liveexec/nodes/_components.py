"""NautilusTrader component configs from a liveexec config: one builder for every kind of node."""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_trader.common.config import ImportableActorConfig
from nautilus_trader.execution.config import ImportableExecAlgorithmConfig
from nautilus_trader.trading.config import ImportableStrategyConfig

from liveexec.config import LiveexecConfig

__all__ = ["Components", "build_components"]


@dataclass(frozen=True, slots=True)
class Components:
    strategies: list[ImportableStrategyConfig]
    exec_algorithms: list[ImportableExecAlgorithmConfig]
    actors: list[ImportableActorConfig]


def build_components(cfg: LiveexecConfig) -> Components:
    """The importable strategy, exec algorithm and actor configs; the backtest and the live
    builders both call this, so both nodes run the same objects."""
    return Components(
        strategies=[
            ImportableStrategyConfig(
                strategy_path=s.path, config_path=s.config_path, config=dict(s.config)
            )
            for s in cfg.strategies
        ],
        exec_algorithms=[
            ImportableExecAlgorithmConfig(
                exec_algorithm_path=a.path, config_path=a.config_path, config=dict(a.config)
            )
            for a in cfg.exec_algorithms
        ],
        actors=[
            ImportableActorConfig(
                actor_path=a.path, config_path=a.config_path, config=dict(a.config)
            )
            for a in cfg.actors
        ],
    )
