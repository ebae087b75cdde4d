"""data.start and data.end read dates and naive times as UTC, as `data import` does, whether
written in the file (YAML, TOML, JSON) or given with --set (issue 20 §4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from liveexec.config import load_config
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR

BARS = EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
MIDNIGHT = datetime(2022, 1, 15, tzinfo=UTC)
SIX = datetime(2022, 1, 15, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "moment"),
    [
        ("2022-01-15", MIDNIGHT),  # YAML: a date
        ("'2022-01-15'", MIDNIGHT),  # text
        ("2022-01-15T06:00:00", SIX),  # YAML: a naive datetime
        ("2022-01-15 06:00", SIX),
        ('"2022-01-15T06:00"', SIX),
        ("2022-01-15T06:00:00Z", SIX),
        ("2022-01-15T08:00:00+02:00", SIX),  # an offset is kept
    ],
)
@pytest.mark.parametrize("field", ["start", "end"])
def test_set_reads_dates_and_naive_times_as_utc(field: str, written: str, moment: datetime) -> None:
    other = "data.end=2023-01-01" if field == "start" else "data.start=2021-01-01"
    cfg = load_config(BARS, overrides=[f"data.{field}={written}", other])
    assert cfg.data is not None
    value = getattr(cfg.data, field)
    assert value == moment
    assert value.utcoffset() is not None


def _example() -> dict[str, object]:
    raw: dict[str, object] = yaml.safe_load(BARS.read_text())
    return raw


def test_yaml_file_dates_are_utc_midnight(tmp_path: Path) -> None:
    raw = _example()
    data = raw["data"]
    assert isinstance(data, dict)
    data["catalog"]["path"] = str(EXAMPLES_DIR / data["catalog"]["path"])
    data.pop("start", None)
    data.pop("end", None)
    path = tmp_path / "dates.yaml"
    text = yaml.safe_dump(raw).replace(
        "data:\n", "data:\n  start: 2022-01-15\n  end: 2022-01-16 06:00\n"
    )
    path.write_text(text)
    assert "start: 2022-01-15\n" in path.read_text()  # unquoted: YAML reads a date
    cfg = load_config(path)
    assert cfg.data is not None
    assert (cfg.data.start, cfg.data.end) == (MIDNIGHT, SIX.replace(day=16))


def test_toml_local_dates_and_json_text_are_utc(tmp_path: Path) -> None:
    toml = tmp_path / "dates.toml"
    catalog = str(EXAMPLES_DIR / "catalog")
    toml.write_text(
        "[[strategies]]\n"
        'path = "nautilus_trader.examples.strategies.ema_cross:EMACross"\n'
        'config_path = "nautilus_trader.examples.strategies.ema_cross:EMACrossConfig"\n'
        "[data]\n"
        "start = 2022-01-15\n"  # a TOML local date
        "end = 2022-01-15T06:00:00\n"  # a TOML local date-time
        f'catalog = {{ path = "{catalog}" }}\n'
        'streams = [{ kind = "quotes", instrument_id = "X.SIM" }]\n'
    )
    with pytest.raises(ConfigError) as exc:  # no venue, no instrument: only the dates matter
        load_config(toml)
    assert not [i for i in exc.value.issues if i.location.startswith("data.")]
    raw = _example()
    data = raw["data"]
    assert isinstance(data, dict)
    data["catalog"]["path"] = catalog
    data.update(start="2022-01-15", end="2022-01-15T06:00")
    path = tmp_path / "dates.json"
    path.write_text(json.dumps(raw))
    cfg = load_config(path)
    assert cfg.data is not None and (cfg.data.start, cfg.data.end) == (MIDNIGHT, SIX)


def test_a_date_and_its_utc_midnight_are_one_config_id() -> None:
    as_date = load_config(BARS, overrides=["data.start=2022-01-15"])
    as_moment = load_config(BARS, overrides=["data.start=2022-01-15T00:00:00Z"])
    assert as_date.config_id == as_moment.config_id


def test_a_number_is_refused_not_read_as_seconds_since_1970() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(BARS, overrides=["data.start=20220115"])
    assert [issue.location for issue in exc.value.issues] == ["data.start"]
    assert "is a number, not a moment" in str(exc.value)
