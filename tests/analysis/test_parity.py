"""Parity of two real backtests: identical configs match exactly, changed ones are counted."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from liveexec.analysis import parity
from liveexec.backtesting import backtest
from liveexec.cli import app
from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import RunResult

pytestmark = pytest.mark.slow


def bars_config(catalog: Path, **strategy: Any) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-04T00:00:00Z"
    raw["logging"] = {"level": "ERROR", "file_level": None}
    raw["strategies"][0]["config"].update(strategy)
    return raw


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunResult]:
    root = tmp_path_factory.mktemp("parity")
    catalog = root / "catalog"
    prepare_demo_catalog(parse_config(bars_config(catalog)))
    url = f"sqlite:///{root / 'runs.db'}"
    upgrade(url)
    base = bars_config(catalog)
    fee = bars_config(catalog)
    fee["instruments"][0]["taker_fee"] = "0.0005"
    ema = bars_config(catalog, fast_ema_period=12)
    results = {
        name: backtest(parse_config(raw), database_url=url)
        for name, raw in (("a", base), ("a2", base), ("fee", fee), ("ema", ema))
    }
    results["url"] = url  # type: ignore[assignment]
    return results


def counter(client_order_id: str) -> int:
    match = re.search(r"-(\d+)$", client_order_id)
    assert match
    return int(match.group(1))


def by_sequence(result: RunResult) -> list[dict[str, Any]]:
    return sorted(result.orders.to_dicts(), key=lambda o: counter(o["client_order_id"]))


def commissions(result: RunResult) -> Decimal:
    return sum(
        (
            Decimal(v)
            for o in result.orders.to_dicts()
            for v in json.loads(o["commissions"]).values()
        ),
        Decimal(0),
    )


def test_identical_configs_match_exactly(runs: dict[str, RunResult]) -> None:
    a, b = runs["a"], runs["a2"]
    assert a.orders.height > 20  # a real run, with orders
    report = parity(runs["url"], a.run_id, b.run_id)  # type: ignore[arg-type]
    assert (report.orders_a, report.orders_b) == (a.orders.height, b.orders.height)
    assert report.matched == a.orders.height
    assert report.matched_pct == 100.0
    assert (report.unmatched_a, report.unmatched_b) == (0, 0)
    assert report.fills_differing == 0 and report.fees_differing == 0
    assert report.max_fill_px_diff_ticks == 0.0
    assert report.pnl_diff == 0 and report.identical
    assert report.pnl_a == sum(a.positions.get_column("realized_pnl").to_list(), Decimal(0))
    # Client order ids are per run; the report pairs them by the strategy's sequence.
    assert report.orders.get_column("client_order_id_a").to_list() == [
        o["client_order_id"] for o in by_sequence(a)
    ]


def test_a_different_fee_changes_fees_and_pnl_not_fills(runs: dict[str, RunResult]) -> None:
    a, fee = runs["a"], runs["fee"]
    report = parity(runs["url"], a.run_id, fee.run_id)  # type: ignore[arg-type]
    assert report.matched == a.orders.height == fee.orders.height
    assert report.fills_differing == 0 and report.max_fill_px_diff_ticks == 0.0
    filled = sum(1 for o in a.orders.to_dicts() if o["status"] == "FILLED")
    assert filled > 0 and report.fees_differing == filled  # every commission changed
    assert report.fees_a == commissions(a) and report.fees_b == commissions(fee)
    assert report.fees_b > report.fees_a
    expected_pnl = sum(fee.positions.get_column("realized_pnl").to_list(), Decimal(0)) - sum(
        a.positions.get_column("realized_pnl").to_list(), Decimal(0)
    )
    assert report.pnl_diff == expected_pnl < 0
    assert not report.identical


def test_different_emas_are_counted_as_unmatched(runs: dict[str, RunResult]) -> None:
    a, ema = runs["a"], runs["ema"]
    report = parity(runs["url"], a.run_id, ema.run_id)  # type: ignore[arg-type]
    left, right = by_sequence(a), by_sequence(ema)
    same = sum(
        1
        for x, y in zip(left, right, strict=False)
        if (x["side"], x["quantity"], x["order_type"], x["instrument_id"])
        == (y["side"], y["quantity"], y["order_type"], y["instrument_id"])
    )
    assert report.orders_a == len(left) and report.orders_b == len(right)
    assert report.matched == same
    assert report.unmatched_a == len(left) - same and report.unmatched_b == len(right) - same
    assert report.orders.height == max(len(left), len(right))
    # Same sides and sizes but other bars: the fill prices differ and are measured in ticks.
    assert report.fills_differing > 0
    assert report.max_fill_px_diff_ticks is not None and report.max_fill_px_diff_ticks > 0
    diffs = [
        abs(float(y["avg_px"]) - float(x["avg_px"])) / 0.1
        for x, y in zip(left, right, strict=False)
        if x["avg_px"] is not None and y["avg_px"] is not None and x["side"] == y["side"]
    ]
    assert report.max_fill_px_diff_ticks == pytest.approx(max(diffs), abs=1e-6)
    assert not report.identical


def test_unknown_run_is_named(runs: dict[str, RunResult]) -> None:
    with pytest.raises(ConfigError, match="no-such-run"):
        parity(runs["url"], runs["a"].run_id, "no-such-run")  # type: ignore[arg-type]


def test_parity_cli(runs: dict[str, RunResult]) -> None:
    cli = CliRunner()
    url: str = runs["url"]  # type: ignore[assignment]
    same = cli.invoke(app, ["parity", runs["a"].run_id, runs["a2"].run_id, "--db", url])
    assert same.exit_code == 0, same.output
    assert "100.00 %" in same.output and "identical" in same.output
    other = cli.invoke(app, ["parity", runs["a"].run_id, runs["ema"].run_id, "--db", url])
    assert other.exit_code == 0, other.output
    assert "unmatched" in other.output
    missing = cli.invoke(app, ["parity", runs["a"].run_id, "nope", "--db", url])
    assert missing.exit_code == 2 and "nope" in missing.output
