"""``strategies``, ``exec_algorithms`` and ``actors``: NautilusTrader components by import path,
in the shape of its ``Importable*Config``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import Field, JsonValue, model_validator

from liveexec.config._base import IMPORT_PATH_PATTERN, Check, FrozenModel, ImportPath
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = [
    "COMPONENT_CHECKS",
    "ActorSpec",
    "ExecAlgorithmSpec",
    "StrategySpec",
    "derived_config_path",
    "strategy_ids",
]

_CLASS_PATH = re.compile(IMPORT_PATH_PATTERN)


def derived_config_path(path: str) -> str:
    """NautilusTrader's naming of a component's config class: ``pkg.mod:EMACross`` is
    configured by ``pkg.mod:EMACrossConfig``."""
    return f"{path}Config"


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # the default is derived from path, never None


class _ComponentSpec(FrozenModel):
    path: ImportPath = Field(description="Import path of the component class, 'module:Class'.")
    # Optional in a file, never None in a validated config: _derive_config_path sets it from a
    # valid path; the None default (never validated, never kept) only spares an invalid path a
    # second issue, "config_path: Field required", for a field the file may leave out.
    config_path: ImportPath = Field(
        default=None,  # type: ignore[assignment]  # see above: replaced before validation
        validate_default=False,
        json_schema_extra=_without_default,
        description="Import path of the component's NautilusTrader config class, "
        "'module:Class'. Unset: path + 'Config' (NautilusTrader's naming: "
        "'pkg.mod:EMACross' is configured by 'pkg.mod:EMACrossConfig'); every run and "
        "`config check` refuse it if that class does not exist.",
    )
    config: dict[str, JsonValue] = Field(
        default_factory=dict, description="Parameters passed to the config class."
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_config_path(cls, data: Any) -> Any:  # noqa: ANN401 (the input as given)
        if isinstance(data, dict) and "config_path" not in data:
            path = data.get("path")
            if isinstance(path, str) and _CLASS_PATH.fullmatch(path):
                return {**data, "config_path": derived_config_path(path)}
        return data


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
            "add a strategy: path, its config (and config_path, unless it is path + 'Config')",
        )


COMPONENT_CHECKS: tuple[Check, ...] = (_validate_something_runs,)
