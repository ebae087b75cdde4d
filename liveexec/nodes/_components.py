"""NautilusTrader component configs from a liveexec config: one builder for every kind of node."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nautilus_trader.common.config import ActorFactory, ImportableActorConfig
from nautilus_trader.execution.config import ExecAlgorithmFactory, ImportableExecAlgorithmConfig
from nautilus_trader.trading.config import ImportableStrategyConfig, StrategyFactory

from liveexec.config import LiveexecConfig
from liveexec.errors import ConfigError, ConfigIssue

__all__ = ["Components", "build_components", "check_importable"]


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


def _resolve(path: str) -> object:
    module_name, _, name = path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, name)


def check_importable(cfg: LiveexecConfig, source: str = "<config>") -> None:
    """Import every component and parse its config, before any engine starts."""
    issues: list[ConfigIssue] = []
    sections = (
        ("strategies", cfg.strategies),
        ("exec_algorithms", cfg.exec_algorithms),
        ("actors", cfg.actors),
    )
    for section, specs in sections:
        for index, spec in enumerate(specs):
            for field in ("path", "config_path"):
                path = getattr(spec, field)
                try:
                    _resolve(path)
                except (ImportError, AttributeError) as exc:
                    issues.append(
                        ConfigIssue(f"{section}[{index}].{field}", f"cannot import {path!r}: {exc}")
                    )
            if issues:
                continue
            config_cls = _resolve(spec.config_path)
            try:
                config_cls.parse(json.dumps(spec.config))  # type: ignore[attr-defined]  # NautilusConfig
            except Exception as exc:
                issues.append(
                    ConfigIssue(
                        f"{section}[{index}].config", f"rejected by {spec.config_path}: {exc}"
                    )
                )
    if issues:
        raise ConfigError(source, issues)
    # Components check their parameters against each other when they are built (EMACross:
    # fast period below slow): build each once, as the node will, and discard it.
    components = build_components(cfg)
    built: tuple[tuple[str, list[Any], Callable[[Any], object]], ...] = (
        ("strategies", components.strategies, StrategyFactory.create),
        ("exec_algorithms", components.exec_algorithms, ExecAlgorithmFactory.create),
        ("actors", components.actors, ActorFactory.create),
    )
    for section, configs, create in built:
        for index, importable in enumerate(configs):
            try:
                create(importable)
            except Exception as exc:  # whatever the component's own checks raise
                issues.append(
                    ConfigIssue(
                        f"{section}[{index}].config",
                        f"{importable.config_path.rsplit(':', 1)[-1]} refused it: {exc}",
                    )
                )
    if issues:
        raise ConfigError(source, issues)
