"""Two traders on one database: rows of a running live trader (as its recorder writes them),
and a real backtest of the unmodified EMACross on BTC perpetual bars governed by
``risk.database_exposure``. Every decision is predicted here from the other trader's rows,
the run's own fills and the bar closes read from the catalog, not from the check's output."""

from __future__ import annotations

import bisect
import copy
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from liveexec.backtesting._run import _backtest
from liveexec.config import parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.trading import paper
from tests.risk._exposure_rows import add_order, add_position, add_run

pytestmark = pytest.mark.slow

IID = "BTCUSDT-PERP.SIM"
BAR_TYPE = "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL"
TRADE = Decimal("0.1")  # EMACross trade_size in the example
OTHERS_LONG = Decimal(1)  # the other trader: position 0.6 + working buy leaves 0.4


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    catalog = tmp_path_factory.mktemp("exposure") / "catalog"
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-04T00:00:00Z"
    raw["logging"] = {"level": "ERROR"}
    prepare_demo_catalog(parse_config(raw))
    return raw


def closes(raw: dict[str, Any]) -> tuple[list[datetime], list[Decimal]]:
    """The bars' closes by ts_init, read from the catalog with NautilusTrader alone."""
    bars = ParquetDataCatalog(raw["data"]["catalog"]["path"]).bars(
        bar_types=[BAR_TYPE], start=raw["data"]["start"], end=raw["data"]["end"]
    )
    bars.sort(key=lambda bar: bar.ts_init)
    times = [datetime.fromtimestamp(bar.ts_init / 1e9, tz=UTC) for bar in bars]
    return times, [bar.close.as_decimal() for bar in bars]


def limit_between(prices: list[Decimal]) -> Decimal:
    """A gross limit that the other trader's 1 BTC alone never breaks and 1.1 BTC always does
    (at every close of the day)."""
    low, high = min(prices), max(prices)
    assert high < low * (OTHERS_LONG + TRADE), (low, high)  # the day allows such a limit
    return ((high + low * (OTHERS_LONG + TRADE)) / 2).quantize(Decimal(1))


def other_traders(url: str) -> None:
    """DESK-002 live and running: 1 BTC long at worst. And rows that must not count: a
    running backtest, a completed live run, and this trader's own earlier live run."""
    engine = create_db_engine(url)
    try:
        live = add_run(engine, "DESK-002", "live")
        add_position(engine, live, "DESK-002", IID, "0.6")
        add_order(
            engine, live, "DESK-002", IID, "BUY", "0.5", filled="0.1", status="PARTIALLY_FILLED"
        )
        add_order(engine, live, "DESK-002", IID, "BUY", "7", status="FILLED")  # ended
        backtest = add_run(engine, "DESK-003", "backtest")
        add_position(engine, backtest, "DESK-003", IID, "5")
        done = add_run(engine, "DESK-004", "live", status="completed")
        add_position(engine, done, "DESK-004", IID, "5")
        own = add_run(engine, "TRADER-001", "live")
        add_position(engine, own, "TRADER-001", IID, "5")
    finally:
        engine.dispose()


def backtest(
    base: dict[str, Any], url: str, risk: dict[str, Any], *, mode: str = "backtest"
) -> list[dict[str, Any]]:
    raw = copy.deepcopy(base)
    raw["risk"] = risk
    raw["mode"] = mode
    cfg = parse_config(raw)
    result = (
        _backtest(cfg, database_url=url)
        if mode == "backtest"
        else paper(cfg, database_url=url, subprocess=False)
    )
    return result.orders.sort("created_at", "client_order_id").to_dicts()


def predicted(
    orders: list[dict[str, Any]], times: list[datetime], prices: list[Decimal], limit: Decimal
) -> list[str | None]:
    """What the check must decide for each order, from the run's own fills: an order that only
    reduces the strategy's position passes; an entry's worst case adds to the other trader's
    1 BTC long (the strategy is flat when it enters: EMACross closes first), so a buy of 0.1
    makes 1.1 BTC at the bar's close, above the limit, and a sell leaves the gross at most
    where it was."""
    position = Decimal(0)
    expected: list[str | None] = []
    for order in orders:
        qty = Decimal(order["quantity"])
        buy = order["side"] == "BUY"
        reducing = (position < 0 and buy and qty <= -position) or (
            position > 0 and not buy and qty <= position
        )
        if buy and not reducing:
            price = prices[bisect.bisect_right(times, order["created_at"]) - 1]
            gross = (OTHERS_LONG + qty) * price
            assert gross > limit
            expected.append(f"worst-case gross exposure {gross} USDT")
        else:
            expected.append(None)
        filled = Decimal(order["filled_qty"])
        position += filled if buy else -filled
    return expected


def sequence(orders: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each order at its place in the strategy's own sequence (the ids' counter): side,
    status, decision, and the figure of the reason (its snapshot age left out)."""
    return sorted(
        (
            int(o["client_order_id"].rsplit("-", 1)[1]),
            o["side"],
            o["status"],
            o["risk_decision"],
            o["risk_reason"] and Decimal(o["risk_reason"].split()[-2]),
        )
        for o in orders
    )


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_entries_that_would_lift_everyone_above_the_limit_are_denied(
    base: dict[str, Any], db: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue("sqlite_url" if db == "sqlite" else "postgres_url")
    upgrade(url)
    other_traders(url)
    times, prices = closes(base)
    limit = limit_between(prices)
    free = backtest(base, url, {})
    assert free and all(o["risk_decision"] is None for o in free)
    risk = {
        "reporting_currency": "USDT",
        "database_exposure": {"max_gross": str(limit), "in_backtest": True},
    }
    orders = backtest(base, url, risk)
    expected = predicted(orders, times, prices, limit)
    assert sum(reason is not None for reason in expected) >= 10
    assert sum(reason is None for reason in expected) >= 10
    for order, reason in zip(orders, expected, strict=True):
        if reason is None:
            assert (order["status"], order["risk_decision"]) == ("FILLED", "approved"), order
        else:
            assert order["status"] == "DENIED", order
            assert order["risk_reason"].startswith(f"database_exposure.max_gross {limit} USDT")
            assert Decimal(order["risk_reason"].split()[-2]) == Decimal(reason.split()[-2])
    if db == "sqlite":
        # A paper node (TradingNode, wall clock, the snapshot thread running while it trades)
        # decides the same at the same points of the strategy's sequence.
        assert sequence(backtest(base, url, risk, mode="paper")) == sequence(orders)


def test_each_field_changes_the_run(base: dict[str, Any], sqlite_url: str) -> None:
    """Not in a backtest unless in_backtest; only the modes listed count; max_net denies the
    same entries (the other trader is long, the buys add to it)."""
    upgrade(sqlite_url)
    other_traders(sqlite_url)
    _, prices = closes(base)
    limit = limit_between(prices)

    def denials(section: dict[str, Any]) -> list[str]:
        risk = {"reporting_currency": "USDT", "database_exposure": section}
        return [
            o["risk_reason"] for o in backtest(base, sqlite_url, risk) if o["status"] == "DENIED"
        ]

    assert denials({"max_gross": str(limit)}) == []  # in_backtest: false
    assert denials({"max_gross": str(limit), "in_backtest": True, "modes": ["paper"]}) == []
    by_net = denials({"max_net": str(limit), "in_backtest": True, "modes": ["live"]})
    assert len(by_net) >= 10
    assert all(reason.startswith(f"database_exposure.max_net {limit} USDT") for reason in by_net)
    assert all(Decimal(r.split()[-2]) > limit for r in by_net)


def test_a_run_marked_paper_counts_only_while_running(base: dict[str, Any], tmp_path: Path) -> None:
    """The same rows under a paper run that has ended no longer count."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    try:
        paper = add_run(engine, "DESK-005", "paper", status="interrupted")
        add_position(engine, paper, "DESK-005", IID, "1")
    finally:
        engine.dispose()
    _, prices = closes(base)
    limit = limit_between(prices)
    orders = backtest(
        base,
        url,
        {
            "reporting_currency": "USDT",
            "database_exposure": {"max_gross": str(limit), "in_backtest": True},
        },
    )
    assert orders and all(o["status"] == "FILLED" for o in orders)


def test_a_modify_that_raises_the_quantity_past_the_limit_is_rejected(
    base: dict[str, Any], sqlite_url: str
) -> None:
    """1 BTC held by the other trader + a resting 0.1 buy passes; raising it to 0.5 would
    make 1.5 BTC: NautilusTrader's OrderModifyRejected with the check's reason, the order
    keeps its quantity (read back from the table)."""
    upgrade(sqlite_url)
    other_traders(sqlite_url)
    _, prices = closes(base)
    low, high = min(prices), max(prices)
    assert high * (OTHERS_LONG + TRADE) < low * (OTHERS_LONG + 5 * TRADE)
    limit = ((high * (OTHERS_LONG + TRADE) + low * (OTHERS_LONG + 5 * TRADE)) / 2).quantize(
        Decimal(1)
    )
    raw = copy.deepcopy(base)
    raw["strategies"] = [
        {
            "path": "tests.risk.modify_strategy:RaiseQuantity",
            "config_path": "tests.risk.modify_strategy:RaiseQuantityConfig",
            "config": {
                "instrument_id": IID,
                "bar_type": BAR_TYPE,
                "trade_size": str(TRADE),
                "raised_size": str(5 * TRADE),
            },
        }
    ]
    raw["risk"] = {
        "reporting_currency": "USDT",
        "database_exposure": {"max_gross": str(limit), "in_backtest": True},
    }
    rejections: list[str] = []

    def inspect(engine: Any) -> None:
        for strategy in engine.trader.strategies():
            rejections.extend(strategy.rejections)

    result = _backtest(parse_config(raw), database_url=sqlite_url, inspect=inspect)
    (order,) = result.orders.to_dicts()
    assert (order["status"], order["risk_decision"]) == ("ACCEPTED", "approved")
    assert Decimal(order["quantity"]) == TRADE
    (reason,) = rejections
    assert reason.startswith(f"database_exposure.max_gross {limit} USDT")
    # the second bar's close: the gate's last price when the modify came
    assert Decimal(reason.split()[-2]) == (OTHERS_LONG + 5 * TRADE) * prices[1]


def test_a_modify_that_adds_nothing_passes_while_the_others_cannot_be_read(
    base: dict[str, Any], sqlite_url: str
) -> None:
    """With the other traders' exposure unreadable past ``max_staleness_s`` (a real fault: the
    positions table renamed away mid-run), a modify that only moves a resting buy's price adds
    nothing to anyone's exposure and goes through, and so does raising a sell that still only
    closes the strategy's long (orders read back from the table); raising the buy is refused,
    fail closed, with the reason."""
    upgrade(sqlite_url)
    other_traders(sqlite_url)
    raw = copy.deepcopy(base)
    raw["strategies"] = [
        {
            "path": "tests.risk.modify_strategy:ModifyWhileUnreadable",
            "config_path": "tests.risk.modify_strategy:ModifyWhileUnreadableConfig",
            "config": {
                "instrument_id": IID,
                "bar_type": BAR_TYPE,
                "trade_size": str(TRADE),
                "raised_size": str(2 * TRADE),
                "database_path": sqlite_url.removeprefix("sqlite:///"),
                "unreadable_s": 0.6,
            },
        }
    ]
    raw["risk"] = {
        "reporting_currency": "USDT",
        "database_exposure": {
            "max_gross": "1000000000",
            "in_backtest": True,
            "refresh_interval_s": 0.05,
            "max_staleness_s": 0.2,
        },
    }
    rejections: list[str] = []
    moved: list[str | None] = []
    ids: dict[str, str] = {}

    def inspect(engine: Any) -> None:
        for strategy in engine.trader.strategies():
            rejections.extend(strategy.rejections)
            moved.append(strategy.moved_to)
            ids["buy"] = strategy.buy.client_order_id.value
            ids["sell"] = strategy.sell.client_order_id.value

    result = _backtest(parse_config(raw), database_url=sqlite_url, inspect=inspect)
    orders = {o["client_order_id"]: o for o in result.orders.to_dicts()}
    buy, sell = orders[ids["buy"]], orders[ids["sell"]]
    assert [o["risk_decision"] for o in orders.values()] == ["approved"] * 3
    assert (buy["status"], sell["status"]) == ("ACCEPTED", "ACCEPTED")
    assert moved[0] is not None and Decimal(buy["price"]) == Decimal(moved[0])
    assert Decimal(buy["quantity"]) == TRADE
    assert Decimal(sell["quantity"]) == 2 * TRADE
    (reason,) = rejections
    assert reason.startswith("database_exposure: other traders' exposure last read")
    assert "over max_staleness_s 0.2" in reason and "fail closed" in reason
