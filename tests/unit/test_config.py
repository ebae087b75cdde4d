from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import liveexec.config as config_module
from liveexec.config import (
    REDACTED,
    LiveexecConfig,
    config_json_schema,
    load_config,
    parse_config,
    redacted_document,
)
from liveexec.errors import ConfigError
from liveexec.examples import example_configs

ROOT = Path(__file__).resolve().parents[2]

STRATEGY = {
    "path": "nautilus_trader.examples.strategies.ema_cross:EMACross",
    "config_path": "nautilus_trader.examples.strategies.ema_cross:EMACrossConfig",
    "config": {"instrument_id": "BTCUSDT.BINANCE", "trade_size": "0.01"},
}
LIVE = {
    "mode": "live",
    "strategies": [STRATEGY],
    "live": {"binance": {"api_key": "${BINANCE_KEY}", "api_secret": "${BINANCE_SECRET}"}},
}
SECRET_KEY = "key-5f0c9e1d7a"
SECRET = "secret-9b8a7c6d5e4f"
ENV = {"BINANCE_KEY": SECRET_KEY, "BINANCE_SECRET": SECRET}


def example(name: str) -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((ROOT / "liveexec" / "examples" / name).read_text())
    return data


def issue_locations(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [issue.location for issue in exc.value.issues]


def test_bundled_examples_are_valid_and_cover_bars_and_fx() -> None:
    paths = example_configs()
    assert {p.name for p in paths} >= {"ema_cross_btc_perp_bars.yaml", "ema_cross_usdjpy_fx.yaml"}
    for path in paths:
        cfg = load_config(path)
        assert cfg.mode == "backtest"
        assert cfg.data is not None and Path(cfg.data.catalog.path).is_absolute()
    fx = load_config(ROOT / "liveexec/examples/ema_cross_usdjpy_fx.yaml")
    assert fx.venues[0].oms_type == "HEDGING"
    assert fx.venues[0].starting_balances == ("1000000 USD",)


def test_config_is_frozen_and_rejects_unknown_fields() -> None:
    cfg = parse_config(LIVE, environ=ENV)
    with pytest.raises(Exception, match="frozen"):
        cfg.mode = "paper"  # type: ignore[misc]
    with pytest.raises(ConfigError) as exc:
        parse_config({**LIVE, "strategys": []}, environ=ENV)
    (issue,) = exc.value.issues
    assert issue.location == "strategys"
    assert issue.hint is not None and "did you mean 'strategies'" in issue.hint


def test_config_id_is_stable_and_ignores_mode_database_secrets_and_explicit_defaults() -> None:
    base = parse_config(LIVE, environ=ENV)
    assert len(base.config_id) == 16
    assert base.config_id == parse_config(LIVE, environ=ENV).config_id
    other_keys = {"BINANCE_KEY": "k2", "BINANCE_SECRET": "s2"}
    assert parse_config(LIVE, environ=other_keys).config_id == base.config_id
    with_db = {**LIVE, "database": {"url": "postgresql://u:pw@db/x"}}
    assert parse_config(with_db, environ=ENV).config_id == base.config_id
    explicit = {**LIVE, "trader_id": "TRADER-001", "risk": {"bypass": False}}
    assert parse_config(explicit, environ=ENV).config_id == base.config_id

    paper = example("ema_cross_btc_perp_bars.yaml")
    backtest_id = parse_config(paper).config_id
    assert parse_config({**paper, "mode": "paper"}).config_id == backtest_id
    moved = {**paper, "data": {**paper["data"], "catalog": {"path": "gs://bucket/catalog"}}}  # type: ignore[dict-item]
    assert parse_config(moved).config_id == backtest_id


def test_config_id_changes_with_what_is_traded() -> None:
    base = parse_config(LIVE, environ=ENV)
    changed = {
        **LIVE,
        "strategies": [{**STRATEGY, "config": {**STRATEGY["config"], "trade_size": "0.02"}}],
    }  # type: ignore[dict-item]
    assert parse_config(changed, environ=ENV).config_id != base.config_id
    riskier = {**LIVE, "risk": {"max_notional_per_order": {"BTCUSDT.BINANCE": "1000"}}}
    assert parse_config(riskier, environ=ENV).config_id != base.config_id


def test_env_substitution_with_defaults_and_escapes() -> None:
    raw = {
        **LIVE,
        "trader_id": "${DESK:-ALPHA}-${NUM:-7}",
        "strategies": [{**STRATEGY, "config": {"note": "costs $$5"}}],
    }
    cfg = parse_config(raw, environ={**ENV, "NUM": "42"})
    assert cfg.trader_id == "ALPHA-42"
    assert cfg.strategies[0].config["note"] == "costs $5"


def test_missing_env_var_names_variable_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(LIVE))
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ={"BINANCE_KEY": "k"})
    message = str(exc.value)
    assert str(path) in message
    assert "live.binance.api_secret" in message
    assert "BINANCE_SECRET is not set" in message
    assert issue_locations(exc) == ["live.binance.api_secret"]


def test_every_error_is_reported_together_with_paths_and_hints() -> None:
    raw = example("ema_cross_btc_perp_bars.yaml")
    raw["venues"] = [{"name": "SIM", "oms_type": "NETING", "starting_balances": ["lots"]}]
    raw["instruments"] = [
        {"kind": "crypto_perpetual", "id": "BTCUSDT-PERP.SIM", "price_precision": "x"}
    ]
    raw["trader_id"] = "nodash"
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, source="cfg.yaml")
    locations = issue_locations(exc)
    assert "venues[0].oms_type" in locations
    assert "venues[0].starting_balances[0]" in locations
    assert "instruments[0].price_precision" in locations
    assert "instruments[0].base_currency" in locations  # missing, reported beside the bad type
    assert "trader_id" in locations
    oms = next(i for i in exc.value.issues if i.location == "venues[0].oms_type")
    assert "'NETTING' or 'HEDGING'" in oms.message
    assert str(exc.value).startswith("cfg.yaml: ")


def test_cross_field_checks_name_the_field() -> None:
    raw = example("ema_cross_btc_perp_bars.yaml")
    raw.pop("data")
    raw["venues"] = [{"name": "OTHER", "starting_balances": ["1 USDT"]}]
    raw["risk"] = {"max_notional_per_order": {"ETHUSDT.SIM": "1"}}
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    locations = issue_locations(exc)
    assert "data" in locations
    assert "instruments[0]" in locations  # its venue SIM is not configured
    assert "risk.max_notional_per_order.ETHUSDT.SIM" in locations


def test_live_mode_requires_credentials() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({**LIVE, "live": {"okx": {"api_key": "k", "api_secret": "s"}}})
    assert issue_locations(exc) == ["live.okx.api_passphrase"]


def test_secrets_never_appear_in_repr_dumps_or_redacted_documents() -> None:
    cfg = parse_config(
        {**LIVE, "database": {"url": f"postgresql://trader:{SECRET}@db/x"}}, environ=ENV
    )
    assert cfg.live.binance is not None
    assert cfg.live.binance.api_secret is not None
    assert cfg.live.binance.api_secret.get_secret_value() == SECRET
    texts = [
        repr(cfg),
        str(cfg),
        cfg.model_dump_json(),
        json.dumps(cfg.model_dump(mode="json")),
        json.dumps(redacted_document(cfg)),
    ]
    for text in texts:
        assert SECRET not in text and SECRET_KEY not in text
    assert redacted_document(cfg)["live"]["binance"]["api_secret"] == REDACTED


def test_overrides_apply_dotted_keys_with_yaml_values(tmp_path: Path) -> None:
    path = ROOT / "liveexec/examples/ema_cross_btc_perp_bars.yaml"
    cfg = load_config(
        path,
        overrides=[
            "strategies.0.config.fast_ema_period=5",
            "venues.0.oms_type=HEDGING",
            "mode=paper",
        ],
    )
    assert cfg.strategies[0].config["fast_ema_period"] == 5
    assert cfg.venues[0].oms_type == "HEDGING"
    assert cfg.mode == "paper"
    with pytest.raises(ConfigError) as exc:
        load_config(path, overrides=["no-equals-sign"])
    assert issue_locations(exc) == ["--set"]


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_toml_and_json_configs_load_like_yaml(tmp_path: Path, suffix: str) -> None:
    data = example("ema_cross_usdjpy_fx.yaml")
    path = tmp_path / f"fx{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        path.write_text(_to_toml(data))
    via_yaml = load_config(ROOT / "liveexec/examples/ema_cross_usdjpy_fx.yaml")
    assert load_config(path).config_id == via_yaml.config_id


def _to_toml(data: dict[str, object]) -> str:
    """Minimal TOML writer for the example's shape (tables and arrays of tables)."""
    lines: list[str] = []

    def scalar(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, list):
            return "[" + ", ".join(scalar(v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f'"{k}" = {scalar(v)}' for k, v in value.items()) + "}"
        return json.dumps(value)

    for key, value in data.items():
        if not isinstance(value, (dict, list)) or (isinstance(value, list) and not value):
            lines.append(f"{key} = {scalar(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines.extend(f'"{k}" = {scalar(v)}' for k, v in value.items())
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{key}]]")
                lines.extend(f'"{k}" = {scalar(v)}' for k, v in item.items())
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "suffix", "expected"),
    [
        ("mode: [unclosed", ".yaml", "not valid YAML"),
        ("- a list", ".yaml", "must be a mapping"),
        ("{}", ".ini", "unknown file type"),
    ],
)
def test_malformed_files_get_one_clear_error(
    tmp_path: Path, content: str, suffix: str, expected: str
) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected) as exc:
        load_config(path)
    assert exc.value.source == str(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_committed_json_schema_matches_the_models() -> None:
    committed = (ROOT / "schemas" / "liveexec-config.schema.json").read_text()
    assert committed == config_json_schema(), "run `nox -s schemas` and commit schemas/"
    schema = json.loads(committed)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(LiveexecConfig.model_fields)


def test_public_api_is_what_we_mean_to_export() -> None:
    for name in config_module.__all__:
        assert hasattr(config_module, name), name
    assert "LiveexecConfig" in config_module.__all__
    assert "load_config" in config_module.__all__
