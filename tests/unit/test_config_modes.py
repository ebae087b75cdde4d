"""The config that was backtested runs unchanged in paper (issue 20 §4): ``load_config_for``
is how every command that runs a config, and ``config check --for``, loads it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
import yaml

from liveexec.config import load_config, load_config_for
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.nodes import check_mode

BARS = EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
LIVE = {
    "mode": "live",
    "strategies": [
        {
            "path": "nautilus_trader.examples.strategies.ema_cross:EMACross",
            "config_path": "nautilus_trader.examples.strategies.ema_cross:EMACrossConfig",
            "config": {"instrument_id": "BTCUSDT.BINANCE", "trade_size": "0.01"},
        }
    ],
    "instruments": [{"kind": "provided", "source": "venue", "ids": ["BTCUSDT.BINANCE"]}],
    "live": {"binance": {"api_key": "k", "api_secret": "s"}},
}


def test_paper_runs_a_backtest_config_as_paper_and_says_so() -> None:
    backtested = load_config(BARS)
    assert backtested.mode == "backtest"
    cfg, note = load_config_for(BARS, "paper")
    assert cfg.mode == "paper"
    assert cfg.config_id == backtested.config_id  # mode is not part of the identity
    assert note == f"{BARS} says mode: backtest; `liveexec paper` runs it as mode: paper"
    check_mode(cfg, "paper")  # what `liveexec paper` checks first: passes


def test_the_default_mode_is_backtest_and_runs_as_paper(tmp_path: Path) -> None:
    raw = yaml.safe_load(BARS.read_text())
    raw.pop("mode", None)
    raw["data"]["catalog"]["path"] = str(EXAMPLES_DIR / raw["data"]["catalog"]["path"])
    path = tmp_path / "no_mode.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg, note = load_config_for(path, "paper")
    assert cfg.mode == "paper"
    assert note is not None and "says mode: backtest" in note


def test_a_paper_config_runs_as_written_without_a_note() -> None:
    cfg, note = load_config_for(BARS, "paper", overrides=["mode=paper"])
    assert cfg.mode == "paper"
    assert note is None


def test_the_overrides_decide_the_mode_paper_replaces() -> None:
    cfg, note = load_config_for(BARS, "paper", overrides=["mode=backtest"])
    assert cfg.mode == "paper"
    assert note is not None


def test_a_live_config_is_validated_as_paper_and_refused_as_paper(tmp_path: Path) -> None:
    """paper never sends an order: a live config runs as paper when it is a valid paper config
    (here it is not: no simulated venue, no data) and the error says it was read as paper."""
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(LIVE))
    with pytest.raises(ConfigError) as exc:
        load_config_for(path, "paper")
    assert str(exc.value).startswith(f"{path} (run as mode: paper): ")
    locations = [issue.location for issue in exc.value.issues]
    assert "venues" in locations and "data" in locations


def test_a_live_config_on_venue_data_runs_as_paper_and_the_note_says_no_order_leaves(
    tmp_path: Path,
) -> None:
    raw = {
        **LIVE,
        "venues": [{"name": "BINANCE", "starting_balances": ["10000 USDT"]}],
        "paper": {"market_data": "venue"},
    }
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg, note = load_config_for(path, "paper")
    assert cfg.mode == "paper" and cfg.paper.market_data == "venue"
    assert note is not None and note.endswith("(no order reaches a venue)")


@pytest.mark.parametrize("command", ["backtest", "live"])
def test_backtest_and_live_load_the_file_as_it_is(command: Literal["backtest", "live"]) -> None:
    cfg, note = load_config_for(BARS, command, overrides=["mode=paper"])
    assert cfg.mode == "paper" and note is None
    with pytest.raises(ConfigError, match="expected"):
        check_mode(cfg, command)
