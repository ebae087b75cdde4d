"""The run report on a real backtest (EMA cross on two days of the bundled BTC perpetual bars),
opened in a real browser (Debian's Chromium through playwright): no console error, every chart
drawn, one marker per fill, the parity panel in words; its marked-to-market equity against an
independent cash-flow computation."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import liveexec
from liveexec.analysis import report_html
from liveexec.analysis._report import PRICE_BUCKETS
from liveexec.cli import app
from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import RunResult, load, marked_equity, read_market_data
from tests.analysis import independent

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
BARS = "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL"


def _workspace(root: Path) -> tuple[dict[str, Any], str]:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(root / "catalog")
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-05T00:00:00Z"
    prepare_demo_catalog(parse_config(raw))
    url = f"sqlite:///{root / 'runs.db'}"
    upgrade(url)
    return raw, url


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, RunResult, str]:
    """The same config backtested twice (so their parity is exact), read back from the database."""
    raw, url = _workspace(tmp_path_factory.mktemp("report"))
    first = liveexec.backtest(parse_config(raw), database_url=url)
    second = liveexec.backtest(parse_config(raw), database_url=url)
    return load(first.run_id, database_url=url), load(second.run_id, database_url=url), url


def test_marked_equity_equals_cash_flows(runs: tuple[RunResult, RunResult, str]) -> None:
    """The report's equity, at every fill and between them, against equity by cash flows (what
    each fill paid and its commission, the open quantity at the mid of the catalog's bars)."""
    result, _, url = runs
    catalog = str(result.config["data"]["catalog"]["path"])
    fills = result.fills.get_column("ts_event").to_list()
    assert len(fills) > 100
    grid = np.linspace(fills[0] - 60_000_000_000, fills[-1] + 60_000_000_000, 97).astype(np.int64)
    times = sorted({*fills, *grid.tolist()})
    marked = marked_equity(
        result.positions,
        result.fills,
        result.config,
        times,
        market=read_market_data(result.config),
    )
    assert marked.marked and marked.currency == "USDT", marked.problem
    raw = independent.read_run(url, result.run_id)
    expected = independent.cash_flow_equity(
        raw,
        {"BTCUSDT-PERP.SIM": independent.bars(catalog, BARS)},
        result.statistics.starting_balance,
        times,
    )
    got = marked.frame.get_column("equity").to_list()
    assert got == pytest.approx([float(e) for e in expected], abs=1e-6)
    # Open positions were marked (equity left the realized balance at some times).
    assert any(u != 0 for u in marked.frame.get_column("unrealized").to_list())


def test_the_report_says_when_prices_are_missing(
    runs: tuple[RunResult, RunResult, str], tmp_path: Path
) -> None:
    """Without the catalog the equity is realized only, and the page says so at the top."""
    gone = tmp_path / "gone"
    result = load(runs[0].run_id, database_url=runs[2], catalog=gone)
    page = report_html(result, catalog=gone)
    assert f"Prices missing: no catalog at {gone}" in page
    assert "equity is realized PnL only" in page
    assert "no BTCUSDT-PERP.SIM prices in the run&#x27;s catalog: fills only" in page
    assert "equity (marked to market)" not in page and "realized (balance)" in page


def _browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing on CI: .ci/run installs Debian's chromium")
    pytest.skip(f"no {CHROMIUM} (apt-get install chromium) for the browser test")


def test_report_in_a_browser(runs: tuple[RunResult, RunResult, str], tmp_path: Path) -> None:
    _browser_or_skip()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (the browser test only)

    result, other, url = runs
    page_file = tmp_path / "report.html"
    done = CliRunner().invoke(
        app,
        ["report", result.run_id[:8], "--out", str(page_file), "--vs", other.run_id, "--db", url],
    )
    assert done.exit_code == 0, done.output
    text = page_file.read_text()
    assert "<script src" not in text  # self-contained: plotly.js inlined, nothing fetched
    fills = result.fills.height
    assert fills == other.fills.height > 100

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())  # offline
            page.goto(page_file.as_uri())
            page.wait_for_function(
                "() => { const d = [...document.querySelectorAll('.js-plotly-plot')]; return "
                "d.length > 0 && d.every(p => p._fullData && p.querySelector('.main-svg')); }",
                timeout=60_000,
            )
            charts = page.evaluate(
                """() => [...document.querySelectorAll('section.chart')].map(s => {
                    const plot = s.querySelector('.js-plotly-plot');
                    return {
                        name: s.dataset.chart,
                        svgs: plot.querySelectorAll('.main-svg').length,
                        traces: plot._fullData.map(t => ({
                            name: t.name, mode: t.mode || '', type: t.type,
                            points: t.x ? t.x.length : 0,
                            cells: [...(t.z || [])].flatMap(r => Array.from(r))
                                .filter(v => v !== null && !isNaN(v)),
                        })),
                        drawn: plot.querySelectorAll('.scatterlayer .trace .points path').length,
                    };
                })"""
            )
            parity = page.inner_text("strong.parity")
            screenshot = tmp_path / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert [c["name"] for c in charts] == ["equity", "trades BTCUSDT-PERP.SIM", "monthly"]
    assert all(c["svgs"] >= 1 for c in charts)
    equity, trades, monthly = charts
    names = [t["name"] for t in equity["traces"]]
    assert names[0] == "equity (marked to market)" and "drawdown" in names
    assert any(n.startswith("buy & hold BTCUSDT-PERP.SIM") for n in names)
    # Every fill is a marker in the browser, and the legend counts them.
    markers = [t for t in trades["traces"] if t["mode"] == "markers"]
    assert sum(t["points"] for t in markers) == fills
    assert trades["drawn"] == fills
    price = next(t for t in trades["traces"] if t["name"].startswith("price"))
    assert 0 < price["points"] <= 2 * PRICE_BUCKETS + 2 + fills
    links = [t for t in trades["traces"] if t["name"].startswith("entry to exit")]
    closed = result.positions.filter(result.positions["status"] == "CLOSED").height
    assert sum(t["points"] for t in links) == 3 * closed  # entry, exit, gap per position
    # One month of returns, as the statistics have it (in percent).
    [heatmap] = monthly["traces"]
    [month_return] = result.statistics.monthly.get_column("return").to_list()
    assert heatmap["type"] == "heatmap"
    assert heatmap["cells"] == [pytest.approx(month_return * 100, rel=1e-9)]
    orders = result.orders.height
    assert parity == f"{orders}/{orders} orders identical"
    assert screenshot.stat().st_size > 50_000


def test_an_unknown_run_writes_nothing(
    runs: tuple[RunResult, RunResult, str], tmp_path: Path
) -> None:
    result, _, url = runs
    target = tmp_path / "report.html"
    for args in (["nope"], [result.run_id[:8], "--vs", "nope"]):
        done = CliRunner().invoke(app, ["report", *args, "--out", str(target), "--db", url])
        assert done.exit_code == 2, done.output
        assert "nope: no run id starts with it" in " ".join(done.output.split())
        assert not target.exists()
