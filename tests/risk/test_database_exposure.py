"""The database-wide exposure check (``risk.database_exposure``) without a node: the other
traders' figures read from real databases against a plain Python sum over the rows written,
the snapshot's staleness and a real PostgreSQL outage (a private server stopped: fail
closed), a property against an independent worst-case computation, and config refusals."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from liveexec.config import parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.risk import InstrumentInfo, OrderIntent, RiskLimits, RiskModel
from liveexec.risk._build import database_exposure_check
from liveexec.risk._exposure import (
    DatabaseExposureCheck,
    DatabaseExposureLimits,
    ExposureWatcher,
    combined_exposure_reason,
    exposure_statement,
    read_other_exposure,
)
from tests.integration.test_postgres_outage import PrivateServer, private_postgres
from tests.risk._exposure_rows import add_order, add_position, add_run

__all__ = ["private_postgres"]  # the fixture, imported for this module's tests

ME = "DESK-001"
INSTRUMENTS = ("AAA.SIM", "BBB.SIM")
WORKING = ("ACCEPTED", "PARTIALLY_FILLED", "SUBMITTED", "TRIGGERED", "PENDING_CANCEL")
ENDED = ("FILLED", "CANCELED", "REJECTED", "EXPIRED", "DENIED")


def test_other_traders_exposure_equals_a_plain_sum_over_the_rows(db_url: str) -> None:
    """Random runs (traders, modes, statuses) with working and ended orders and open and
    closed positions; what counts is recomputed here from what was written."""
    upgrade(db_url)
    engine = create_db_engine(db_url)
    rng = random.Random(11)
    written: list[tuple[str, str, str, str, str, Decimal]] = []  # trader, mode, run status, ...
    try:
        for r in range(24):
            trader = ME if r % 6 == 0 else f"DESK-{r % 4 + 2:03d}"
            mode = ("paper", "live", "backtest")[r % 3]
            status = "running" if r % 4 else rng.choice(["completed", "failed", "abandoned"])
            run_id = add_run(engine, trader, mode, status)
            for _ in range(rng.randint(0, 6)):
                iid = rng.choice(INSTRUMENTS)
                side = rng.choice(["BUY", "SELL"])
                qty = Decimal(rng.randint(1, 40)) / 8
                filled = qty * rng.choice([Decimal(0), Decimal(0), Decimal("0.25")])
                order_status = rng.choice(WORKING + ENDED)
                add_order(
                    engine,
                    run_id,
                    trader,
                    iid,
                    side,
                    str(qty),
                    filled=str(filled),
                    status=order_status,
                    mode=mode,
                )
                kind = side if order_status in WORKING else "ENDED"
                written.append((trader, mode, status, iid, kind, qty - filled))
            for _ in range(rng.randint(0, 2)):
                iid = rng.choice(INSTRUMENTS)
                net = Decimal(rng.randint(-30, 30)) / 4
                open_ = rng.random() < 0.7
                add_position(
                    engine, run_id, trader, iid, str(net), status="OPEN" if open_ else "CLOSED"
                )
                written.append((trader, mode, status, iid, "POSITION" if open_ else "ENDED", net))
        for modes in (("paper", "live"), ("live",), ("paper",)):
            expected: dict[str, list[Decimal]] = {}
            for trader, mode, status, iid, kind, qty in written:
                if trader == ME or mode not in modes or status != "running" or kind == "ENDED":
                    continue
                book = expected.setdefault(iid, [Decimal(0)] * 3)
                book[("POSITION", "BUY", "SELL").index(kind)] += qty
            found = read_other_exposure(engine, ME, modes)
            assert {iid: list(book) for iid, book in found.items()} == expected, modes
            assert expected  # the data has something to count in every mode
    finally:
        engine.dispose()


def _model(prices: dict[str, Decimal]) -> RiskModel:
    model = RiskModel(RiskLimits(), "USDT")
    for iid, price in prices.items():
        model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
        model.set_price(iid, price, 0)
    return model


def _order(cid: str, iid: str, is_buy: bool, qty: str) -> OrderIntent:
    return OrderIntent(cid, "S-1", iid, is_buy, Decimal(qty), is_market=True)


def _decide(check: DatabaseExposureCheck, model: RiskModel, order: OrderIntent) -> str | None:
    """As the gate: the model's own checks, then this one unless the order only reduces."""
    reason = model.check(order, 0)
    if reason is None and not model.reduces(order):
        reason = check.reason(model, order)
    if reason is None:
        model.accept(order, 0)
    return reason


@pytest.mark.slow
def test_a_stopped_database_denies_within_max_staleness_and_reducing_orders_pass(
    private_postgres: PrivateServer,
) -> None:
    url = private_postgres.url
    upgrade(url)
    engine = create_db_engine(url)
    try:
        other = add_run(engine, "DESK-002", "live")
        add_position(engine, other, "DESK-002", "AAA.SIM", "3")
        limits = DatabaseExposureLimits(
            max_gross=Decimal(1000), max_net=None, refresh_interval_s=0.05, max_staleness_s=0.5
        )
        check = DatabaseExposureCheck(limits, engine, ME)
        model = _model({"AAA.SIM": Decimal(100)})
        check.start()
        try:
            # 3 held by the other trader + 6 = 9 * 100 = 900 <= 1000; + 2 more = 1100 > 1000
            assert _decide(check, model, _order("O-1", "AAA.SIM", True, "6")) is None
            model.on_fill("O-1", Decimal(6))
            denied = _decide(check, model, _order("O-2", "AAA.SIM", True, "2"))
            assert denied is not None
            assert denied.startswith("database_exposure.max_gross 1000 USDT")
            assert denied.endswith("worst-case gross exposure 1100 USDT")
            stopping = time.monotonic()  # the last good read was at most one interval before
            private_postgres.stop("immediate")
            stopped = time.monotonic()
            # an order that adds 1 (901 <= 1000) passes until the snapshot is too old
            n = 0
            while (
                reason := _decide(check, model, _order(f"A-{n}", "AAA.SIM", True, "0.01"))
            ) is None:
                assert time.monotonic() - stopped < 5
                model.on_order_closed(f"A-{n}")
                n += 1
                time.sleep(0.02)
            # max_staleness_s 0.5 after the last good read
            assert time.monotonic() - stopping > 0.4, time.monotonic() - stopping
            assert time.monotonic() - stopped < 1.5, time.monotonic() - stopped
            assert reason.startswith("database_exposure: other traders' exposure last read")
            assert "over max_staleness_s 0.5" in reason and "fail closed" in reason
            # an order that only reduces the trader's own long is not checked: it passes
            assert _decide(check, model, _order("O-3", "AAA.SIM", False, "4")) is None
        finally:
            check.stop()
    finally:
        engine.dispose()


def test_an_instrument_only_others_hold_and_no_price_for_it_denies(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url)
    try:
        other = add_run(engine, "DESK-002", "paper")
        add_order(engine, other, "DESK-002", "ZZZ.SIM", "BUY", "1", mode="paper")
        watcher = ExposureWatcher(engine, ME)
        watcher.poll_once()
        current = watcher.current()
        assert not isinstance(current, str)
        model = _model({"AAA.SIM": Decimal(100)})
        order = _order("O-1", "AAA.SIM", True, "1")
        assert model.check(order, 0) is None
        limits = DatabaseExposureLimits(max_gross=Decimal(10_000), max_net=None)
        reason = combined_exposure_reason(limits, model, order, current[0])
        assert reason == "database_exposure: no price for ZZZ.SIM yet (fail closed)"
        fresh = ExposureWatcher(engine, ME)
        assert isinstance(fresh.current(), str) and "not read yet" in str(fresh.current())
    finally:
        engine.dispose()


# -- property: the combined worst case never passes the limit ---------------------------------

PRICES = {"AAA.SIM": Decimal("100"), "BBB.SIM": Decimal("7.5")}
quantities = st.integers(min_value=1, max_value=40).map(lambda n: Decimal(n) / 4)
others_books = st.dictionaries(
    st.sampled_from(sorted(PRICES)),
    st.tuples(
        st.integers(-20, 20).map(Decimal),
        st.integers(0, 10).map(Decimal),
        st.integers(0, 10).map(Decimal),
    ),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.sampled_from(sorted(PRICES)), st.booleans(), quantities),
        st.tuples(st.just("fill"), st.integers(0, 50), st.just(True), quantities),
        st.tuples(st.just("cancel"), st.integers(0, 50), st.just(True), quantities),
    ),
    max_size=40,
)


def _worst(
    own: dict[str, list[Decimal]], others: dict[str, tuple[Decimal, Decimal, Decimal]]
) -> tuple[Decimal, Decimal, Decimal]:
    """(gross, long net, short net) of everyone, written out plainly."""
    gross = long_net = short_net = Decimal(0)
    for iid, price in PRICES.items():
        mine = own.get(iid, [Decimal(0)] * 3)
        theirs = others.get(iid, (Decimal(0),) * 3)
        position = mine[0] + theirs[0]
        long_q = position + mine[1] + theirs[1]
        short_q = position - mine[2] - theirs[2]
        gross += max(abs(long_q), abs(short_q)) * price
        long_net += long_q * price
        short_net += short_q * price
    return gross, long_net, short_net


@settings(max_examples=300, deadline=None)
@given(
    others=others_books,
    script=steps,
    max_gross=st.integers(1, 6000).map(Decimal),
    max_net=st.one_of(st.none(), st.integers(1, 6000).map(Decimal)),
)
def test_combined_exposure_never_rises_above_the_limit(
    others: dict[str, tuple[Decimal, Decimal, Decimal]],
    script: list[tuple[str, Any, bool, Decimal]],
    max_gross: Decimal,
    max_net: Decimal | None,
) -> None:
    limits = DatabaseExposureLimits(max_gross=max_gross, max_net=max_net)
    model = _model(PRICES)
    own: dict[str, list[Decimal]] = {}  # iid -> [position, working buys, working sells]
    working: list[tuple[str, str, bool, Decimal]] = []  # cid, iid, is_buy, leaves
    for n, (kind, target, is_buy, qty) in enumerate(script):
        if kind == "order":
            order = OrderIntent(f"O-{n}", "S-1", target, is_buy, qty, is_market=True)
            before = _worst(own, others)
            book = own.setdefault(target, [Decimal(0)] * 3)
            reducing = model.reduces(order)
            reason = model.check(order, 0)
            assert reason is None  # no in-memory limits: only the database-wide one decides
            reason = None if reducing else combined_exposure_reason(limits, model, order, others)
            book[1 if is_buy else 2] += qty
            after = _worst(own, others)
            breaks_gross = after[0] > max_gross and after[0] > before[0]
            net_after, net_before = (after[1], before[1]) if is_buy else (after[2], before[2])
            breaks_net = max_net is not None and abs(net_after) > max_net
            breaks_net = breaks_net and abs(net_after) > abs(net_before)
            if reducing:
                assert reason is None
            else:
                assert (reason is not None) == (breaks_gross or breaks_net), (reason, after)
            if reason is not None:
                assert Decimal(reason.split()[-2]) == (after[0] if breaks_gross else net_after)
                book[1 if is_buy else 2] -= qty
                continue
            model.accept(order, 0)
            working.append((f"O-{n}", target, is_buy, qty))
        elif working:
            index = target % len(working)
            cid, iid, buy, leaves = working[index]
            done = min(qty, leaves) if kind == "fill" else leaves
            book = own[iid]
            book[1 if buy else 2] -= done
            if kind == "fill":
                model.on_fill(cid, done)
                book[0] += done if buy else -done
            else:
                model.on_order_closed(cid)
            if leaves - done > 0:
                working[index] = (cid, iid, buy, leaves - done)
            else:
                del working[index]


# -- config -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "location"),
    [
        ({"max_gross": "1000"}, "risk.database_exposure.max_gross"),  # no reporting currency
        ({"max_gross": "-5"}, "risk.database_exposure.max_gross"),
        ({"max_net": "0"}, "risk.database_exposure.max_net"),
        ({}, "risk.database_exposure"),
        ({"max_gross": "100", "max_net": "200"}, "risk.database_exposure.max_net"),
        ({"max_gross": "100", "modes": []}, "risk.database_exposure.modes"),
        ({"max_gross": "100", "modes": ["backtest"]}, "risk.database_exposure.modes"),
        ({"max_gross": "100", "modes": ["live", "live"]}, "risk.database_exposure.modes"),
        (
            {"max_gross": "100", "refresh_interval_s": 1, "max_staleness_s": 1.5},
            "risk.database_exposure.max_staleness_s",
        ),
        ({"max_gross": "100", "refresh_interval_s": 0}, "risk.database_exposure.refresh"),
        ({"max_gross": "100", "surprise": 1}, "risk.database_exposure.surprise"),
    ],
)
def test_inconsistent_database_limits_are_refused_with_the_field_path(
    section: dict[str, Any], location: str
) -> None:
    raw = yaml.safe_load((EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text())
    raw["data"]["catalog"]["path"] = "/nonexistent"
    raw["risk"] = {"database_exposure": section}
    if "max_gross" not in section or section.get("max_gross") != "1000":
        raw["risk"]["reporting_currency"] = "USDT"
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    assert any(issue.location.startswith(location) for issue in exc.value.issues), exc.value


def test_a_database_limit_below_the_trader_limit_is_refused() -> None:
    raw = yaml.safe_load((EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text())
    raw["data"]["catalog"]["path"] = "/nonexistent"
    raw["risk"] = {
        "reporting_currency": "USDT",
        "max_gross_exposure": "5000",
        "database_exposure": {"max_gross": "4000"},
    }
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    (issue,) = exc.value.issues
    assert issue.location == "risk.database_exposure.max_gross"
    assert "below this trader's own limit risk.max_gross_exposure (5000)" in issue.message
    raw["risk"]["database_exposure"]["max_gross"] = "5000"
    assert parse_config(raw).risk.database_exposure is not None


def test_refresh_interval_and_staleness_from_the_config_drive_the_reads(sqlite_url: str) -> None:
    """``refresh_interval_s`` sets how often the thread reads; ``max_staleness_s`` how old a
    snapshot may be before orders are denied (config -> the check a node builds)."""
    upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url)
    raw = yaml.safe_load((EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text())
    raw["data"]["catalog"]["path"] = "/nonexistent"
    raw["mode"] = "backtest"
    reads = {}
    try:
        for interval in (0.05, 0.5):
            raw["risk"] = {
                "reporting_currency": "USDT",
                "database_exposure": {
                    "max_gross": "1000",
                    "in_backtest": True,
                    "refresh_interval_s": interval,
                    "max_staleness_s": 1.0,
                },
            }
            check = database_exposure_check(parse_config(raw), engine)
            assert check is not None and check.watcher is not None
            check.start()
            time.sleep(1.0)
            check.stop()
            reads[interval] = check.watcher.reads
            # stopped: no more reads; past max_staleness_s every order is denied
            time.sleep(1.05)
            model = _model({"AAA.SIM": Decimal(1)})
            order = _order("O-1", "AAA.SIM", True, "1")
            assert model.check(order, 0) is None
            reason = check.reason(model, order)
            assert reason is not None and "over max_staleness_s 1 " in reason
        raw["risk"]["database_exposure"]["in_backtest"] = False
        assert database_exposure_check(parse_config(raw), engine) is None
    finally:
        engine.dispose()
    assert reads[0.05] >= 8 and reads[0.5] <= 4, reads


def test_sqlite_reads_the_rows_through_the_partial_indexes(sqlite_url: str) -> None:
    """SQLite's check sums the rows (no run_exposure there): the running runs from
    ix_runs_running, each one's working orders from the partial index by run, the open
    positions from theirs; never a scan of the orders or positions tables."""
    upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url)
    try:
        statement = str(exposure_statement("sqlite", ("paper", "live")))
        with engine.connect() as connection:
            plan = "\n".join(
                str(row[3])
                for row in connection.execute(text(f"EXPLAIN QUERY PLAN {statement}"), {"me": ME})
            )
    finally:
        engine.dispose()
    assert "SCAN r USING INDEX ix_runs_running" in plan, plan
    assert "SEARCH o USING INDEX ix_unified_orders_working_exposure (run_id=?)" in plan, plan
    assert "USING INDEX ix_unified_positions_open_exposure" in plan, plan
    assert "SCAN o\n" not in f"{plan}\n" and "SCAN p\n" not in f"{plan}\n", plan
