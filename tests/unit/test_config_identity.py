"""config_id is canonical: one id per meaning, whatever the spelling, format or key order."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveexec.config import load_config, parse_config

EMA = {
    "path": "nautilus_trader.examples.strategies.ema_cross:EMACross",
    "config_path": "nautilus_trader.examples.strategies.ema_cross:EMACrossConfig",
}

decimals = st.decimals(
    min_value=Decimal("0.00001"), max_value=Decimal(500), places=5, allow_nan=False
)


@st.composite
def meanings(draw: st.DrawFn) -> dict[str, Any]:
    """What a config says, independent of how it is written."""
    return {
        "trade_size": draw(decimals),
        "fast": draw(st.integers(2, 15)),
        "slow": draw(st.integers(16, 60)),
        "balance": draw(st.integers(1, 10**9)),
        "leverage": draw(st.integers(1, 100)),
        "taker_fee": draw(st.decimals(min_value=0, max_value=Decimal("0.01"), places=6)),
        "margin_init": draw(st.decimals(min_value=0, max_value=1, places=4)),
        "oms_type": draw(st.sampled_from(["NETTING", "HEDGING"])),
        "start_hour": draw(st.integers(0, 23)),
    }


def spell_decimal(value: Decimal, rng: random.Random) -> object:
    """The same number as the user might write it: text with extra zeros, exponent, or a float."""
    choice = rng.randrange(4)
    if choice == 0:
        return f"{value:f}"
    if choice == 1:
        return f"{value:f}" + ("0" * rng.randrange(1, 4) if "." in f"{value:f}" else ".000")
    if choice == 2:
        return f"{value:E}"
    return float(value) if Decimal(repr(float(value))) == value else f"{value:f}"


def spell(meaning: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One of many documents for the same meaning, with incidental fields varied."""
    strategy_config: dict[str, Any] = {
        "instrument_id": "BTCUSDT-PERP.SIM",
        "bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
        "trade_size": spell_decimal(meaning["trade_size"], rng),
        "fast_ema_period": meaning["fast"],
        "slow_ema_period": meaning["slow"],
    }
    if rng.random() < 0.5:
        strategy_config["request_bars"] = True  # EMACrossConfig's default, written out
    venue: dict[str, Any] = {
        "name": "SIM",
        "oms_type": meaning["oms_type"],
        "starting_balances": [f"{meaning['balance']}{rng.choice(['', '.0', '.00'])} USDT"],
        "default_leverage": rng.choice(
            [meaning["leverage"], f"{meaning['leverage']}.0", float(meaning["leverage"])]
        ),
    }
    if rng.random() < 0.5:
        venue["account_type"] = "MARGIN"  # the default, written out
    instrument = {
        "kind": "crypto_perpetual",
        "id": "BTCUSDT-PERP.SIM",
        "base_currency": "BTC",
        "quote_currency": "USDT",
        "settlement_currency": "USDT",
        "price_precision": 1,
        "size_precision": 3,
        "taker_fee": spell_decimal(meaning["taker_fee"], rng),
        "margin_init": spell_decimal(meaning["margin_init"], rng),
    }
    hour = meaning["start_hour"]
    offset = rng.choice([0, 1, -5])
    local = (hour + offset) % 24
    day = 1 + (hour + offset) // 24
    sign = "+" if offset >= 0 else "-"
    start = f"2022-01-{day + 1:02d}T{local:02d}:00:00{sign}{abs(offset):02d}:00"
    doc: dict[str, Any] = {
        "trader_id": rng.choice(["TRADER-001", "DESK-7"]),
        "logging": {"level": rng.choice(["DEBUG", "WARNING", "ERROR"])},
        "database": {"url": rng.choice(["sqlite:///a.db", "postgresql://u@h/db"])},
        "strategies": [{**EMA, "config": shuffled(strategy_config, rng)}],
        "venues": [shuffled(venue, rng)],
        "instruments": [shuffled(instrument, rng)],
        "data": {
            "catalog": {"path": rng.choice(["/data/a", "/data/b", "gs://bucket/c"])},
            "streams": [
                {
                    "kind": "bars",
                    "instrument_id": "BTCUSDT-PERP.SIM",
                    "bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
                }
            ],
            "start": start,
        },
    }
    return shuffled(doc, rng)


def shuffled(mapping: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    items = list(mapping.items())
    rng.shuffle(items)
    return dict(items)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def write(doc: dict[str, Any], fmt: str, folder: Path, name: str) -> Path:
    path = folder / f"{name}.{fmt}"
    if fmt == "yaml":
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    elif fmt == "json":
        path.write_text(json.dumps(doc, indent=1))
    else:
        path.write_text("".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in doc.items()))
    return path


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(meaning=meanings(), seed=st.integers(0, 2**32))
def test_one_meaning_has_one_id_in_every_spelling_and_format(
    meaning: dict[str, Any], seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    ids = set()
    for attempt, fmt in enumerate(["yaml", "json", "toml", "yaml", "json", "toml"]):
        path = write(spell(meaning, rng), fmt, tmp_path, f"c{seed}-{attempt}")
        ids.add(load_config(path).config_id)
    assert len(ids) == 1


@settings(max_examples=60, deadline=None)
@given(meaning=meanings(), seed=st.integers(0, 2**32), data=st.data())
def test_a_different_meaning_has_a_different_id(
    meaning: dict[str, Any], seed: int, data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(meaning)))
    other = dict(meaning)
    if key == "oms_type":
        other[key] = "HEDGING" if meaning[key] == "NETTING" else "NETTING"
    elif key == "trade_size":
        other[key] = meaning[key] + Decimal("0.00001")
    elif key in ("taker_fee", "margin_init"):
        other[key] = meaning[key] + Decimal("0.0001")
    elif key == "start_hour":
        other[key] = (meaning[key] + 1) % 24
    else:
        other[key] = meaning[key] + 1
    rng = random.Random(seed)
    first = parse_config(spell(meaning, rng)).config_id
    second = parse_config(spell(other, rng)).config_id
    assert first != second, key
