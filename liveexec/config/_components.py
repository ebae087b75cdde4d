"""``strategies``, ``exec_algorithms`` and ``actors``: NautilusTrader components by import path,
in the shape of its ``Importable*Config``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field, JsonValue

from liveexec.config._base import Check, FrozenModel, ImportPath
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = ["COMPONENT_CHECKS", "ActorSpec", "ExecAlgorithmSpec", "StrategySpec", "strategy_ids"]


class _ComponentSpec(FrozenModel):
    path: ImportPath = Field(description="Import path of the component class, 'module:Class'.")
    config_path: ImportPath = Field(
        description="Import path of the component's NautilusTrader config class, 'module:Class'."
    )
    config: dict[str, JsonValue] = Field(
        default_factory=dict, description="Parameters passed to the config class."
    )


class StrategySpec(_ComponentSpec):
    """A NautilusTrader strategy, by import path, with its config parameters."""


class ExecAlgorithmSpec(_ComponentSpec):
    """A NautilusTrader execution algorithm (TWAP, VWAP, Iceberg, ...), by import path."""


class ActorSpec(_ComponentSpec):
    """A NautilusTrader actor, by import path."""


def strategy_ids(cfg: LiveexecConfig) -> list[str]:
    """The strategy ids NautilusTrader's trader gives the configured strategies: the config's
    ``strategy_id`` (or the class name) and its ``order_id_tag`` (or the strategy's index)."""
    ids = []
    for index, spec in enumerate(cfg.strategies):
        name = spec.config.get("strategy_id") or spec.path.rpartition(":")[2]
        tag = spec.config.get("order_id_tag") or f"{index:03d}"
        ids.append(f"{name}-{tag}")
    return ids


# --- cross-field checks -------------------------------------------------------------------------


def _validate_something_runs(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not cfg.strategies and not cfg.actors:
        yield ConfigIssue(
            "strategies",
            "a run needs at least one strategy or actor",
            "add a strategy: path, config_path and its config",
        )


COMPONENT_CHECKS: tuple[Check, ...] = (_validate_something_runs,)
