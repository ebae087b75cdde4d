"""A component's config_path defaults to NautilusTrader's naming of its config class (issue 20
§4): ``pkg.mod:EMACross`` is configured by ``pkg.mod:EMACrossConfig``; where no such class
exists, every run and `config check` refuse it, naming config_path and how to fix it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from liveexec.config import config_json_schema, derived_config_path, load_config, parse_config
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.nodes import preflight

BARS = EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
EMA = "nautilus_trader.examples.strategies.ema_cross:EMACross"


def _raw(**strategy: Any) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(BARS.read_text())
    raw["data"]["catalog"]["path"] = str(EXAMPLES_DIR / raw["data"]["catalog"]["path"])
    spec = raw["strategies"][0]
    spec.pop("config_path")
    spec.update(strategy)
    return raw


def test_derived_config_path_is_nautilus_naming() -> None:
    assert derived_config_path(EMA) == f"{EMA}Config"


def test_a_strategy_without_config_path_gets_its_config_class_and_the_same_config_id() -> None:
    written = load_config(BARS)
    assert written.strategies[0].config_path == f"{EMA}Config"
    derived = parse_config(_raw())
    assert derived.strategies[0].config_path == f"{EMA}Config"
    assert derived.config_id == written.config_id


def test_a_bad_path_is_reported_once_not_as_a_missing_config_path() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(_raw(path="no colon here"))
    assert [issue.location for issue in exc.value.issues] == ["strategies[0].path"]


def test_the_schema_makes_config_path_optional_and_path_required() -> None:
    defs = json.loads(config_json_schema())["$defs"]
    for name in ("StrategySpec", "ExecAlgorithmSpec", "ActorSpec"):
        assert defs[name]["required"] == ["path"], name
        assert "path + 'Config'" in defs[name]["properties"]["config_path"]["description"]


def test_a_config_class_named_otherwise_is_refused_naming_config_path() -> None:
    cfg = parse_config(_raw(path="tests.unit.settings_strategy:Quiet", config={}))
    assert cfg.strategies[0].config_path == "tests.unit.settings_strategy:QuietConfig"
    with pytest.raises(ConfigError) as exc:
        preflight(cfg, "cfg.yaml")
    issue = next(i for i in exc.value.issues if i.location == "strategies[0].config_path")
    assert "cannot import 'tests.unit.settings_strategy:QuietConfig'" in issue.message
    assert issue.hint is not None and "give config_path" in issue.hint
    assert "path + 'Config'" in issue.hint


def test_an_explicit_config_path_is_used_as_given() -> None:
    cfg = parse_config(
        _raw(
            path="tests.unit.settings_strategy:Quiet",
            config_path="tests.unit.settings_strategy:QuietSettings",
            config={},
        )
    )
    assert cfg.strategies[0].config_path == "tests.unit.settings_strategy:QuietSettings"
    try:
        preflight(cfg, "cfg.yaml")
    except ConfigError as exc:  # the example's catalog may be absent: only components matter
        assert not [i for i in exc.issues if i.location.startswith("strategies")], exc
