"""No config field is decoration: each one changes the backtest, or the config is refused.

Each case changes one field of a real run (EMA cross on two days of BTC perpetual bars, or the
market maker on Binance BTCUSDT quotes) and checks the effect the field must have, measured on
the recorded tables and on the engine's own account, never by comparing liveexec with itself.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from nautilus_trader.backtest.node import get_fill_model

from liveexec.backtesting._run import _backtest
from liveexec.config import LiveexecConfig, parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.nodes import build_run_config, preflight
from liveexec.runs import list_runs

pytestmark = pytest.mark.slow

Raw = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    statuses: Counter[str]
    fill_prices: tuple[Decimal, ...]
    commissions: tuple[str, ...]
    balances: dict[str, Decimal]  # the simulated venue's account at the end (NautilusTrader's)
    first_fill_ns: int | None
    positions: int
    position_ids: int
    denial_reasons: tuple[str, ...]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("fields")
    catalog = root / "catalog"
    for name in (BARS, QUOTES, FX):
        raw = example(name, catalog)
        prepare_demo_catalog(parse_config(raw))
    url = f"sqlite:///{root / 'runs.db'}"
    upgrade(url)
    return catalog, url


def example(name: str, catalog: Path) -> Raw:
    raw: Raw = yaml.safe_load((EXAMPLES_DIR / name).read_text())
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["logging"] = {"level": "ERROR"}
    if name.startswith("ema_cross_btc"):
        raw["data"]["start"] = "2022-01-03T00:00:00Z"
        raw["data"]["end"] = "2022-01-05T00:00:00Z"
    return raw


def run(cfg: LiveexecConfig, url: str) -> Outcome:
    balances: dict[str, Decimal] = {}

    def inspect(engine: Any) -> None:
        for account in engine.cache.accounts():
            for currency, money in account.balances_total().items():
                balances[currency.code] = money.as_decimal()

    result = _backtest(cfg, database_url=url, inspect=inspect)
    fills = result.fills.sort("ts_event", "client_order_id")
    reasons = tuple(r for r in result.orders.get_column("risk_reason").to_list() if r)
    return Outcome(
        statuses=Counter(result.orders.get_column("status").to_list()),
        fill_prices=tuple(fills.get_column("last_px").to_list()),
        commissions=tuple(fills.get_column("commission").to_list()),
        balances=balances,
        first_fill_ns=fills.get_column("ts_event").min() if fills.height else None,  # type: ignore[arg-type]
        positions=result.positions.height,
        position_ids=result.positions.get_column("position_id").n_unique(),
        denial_reasons=reasons,
    )


def change(*path: str | int, to: object) -> Callable[[Raw], None]:
    def apply(raw: Raw) -> None:
        node: Any = raw
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
        node[path[-1]] = to

    return apply


@pytest.fixture(scope="module")
def bars_base(workspace: tuple[Path, str]) -> Outcome:
    catalog, url = workspace
    return run(parse_config(example("ema_cross_btc_perp_bars.yaml", catalog)), url)


@pytest.fixture(scope="module")
def quotes_base(workspace: tuple[Path, str]) -> Outcome:
    catalog, url = workspace
    return run(parse_config(example("simple_quoter_btcusdt_quotes.yaml", catalog)), url)


def mutated(name: str, catalog: Path, *changes: Callable[[Raw], None]) -> LiveexecConfig:
    raw = copy.deepcopy(example(name, catalog))
    for apply in changes:
        apply(raw)
    return parse_config(raw)


BARS = "ema_cross_btc_perp_bars.yaml"
QUOTES = "simple_quoter_btcusdt_quotes.yaml"
FX = "ema_cross_usdjpy_fx.yaml"


def test_the_base_runs_trade(bars_base: Outcome, quotes_base: Outcome) -> None:
    assert bars_base.statuses["FILLED"] > 100
    assert quotes_base.statuses["FILLED"] > 0


def test_starting_balance_moves_the_final_balance_by_the_difference(
    workspace: tuple[Path, str], bars_base: Outcome
) -> None:
    catalog, url = workspace
    cfg = mutated(BARS, catalog, change("venues", 0, "starting_balances", to=["50000 USDT"]))
    outcome = run(cfg, url)
    assert outcome.fill_prices == bars_base.fill_prices
    assert outcome.balances["USDT"] == bars_base.balances["USDT"] - Decimal(50000)


def test_oms_type_moves_positions(workspace: tuple[Path, str], bars_base: Outcome) -> None:
    catalog, url = workspace
    outcome = run(mutated(BARS, catalog, change("venues", 0, "oms_type", to="HEDGING")), url)
    # EMACross closes before it reverses, so both have one position per cycle; NETTING reuses one
    # position id for all of them, HEDGING gives each its own.
    assert outcome.positions == bars_base.positions
    assert bars_base.position_ids == 1
    assert outcome.position_ids == outcome.positions


def test_taker_fee_moves_every_commission(workspace: tuple[Path, str], bars_base: Outcome) -> None:
    catalog, url = workspace
    # The catalog keeps the imported definition; the config's fee must still be the one charged.
    cfg = mutated(BARS, catalog, change("instruments", 0, "taker_fee", to="0.001"))
    assert [note.split(":")[0] for note in preflight(cfg).notes] == ["BTCUSDT-PERP.SIM"]
    outcome = run(cfg, url)
    assert outcome.fill_prices == bars_base.fill_prices
    qty = Decimal("0.1")
    for price, commission in zip(outcome.fill_prices, outcome.commissions, strict=True):
        amount, currency = commission.split()
        assert currency == "USDT"
        assert Decimal(amount) == (price * qty * Decimal("0.001")).quantize(Decimal("1e-8"))


def test_fixed_fee_model_charges_the_fixed_commission(
    workspace: tuple[Path, str], bars_base: Outcome
) -> None:
    catalog, url = workspace
    cfg = mutated(
        BARS,
        catalog,
        change("venues", 0, "fee_model", to={"kind": "fixed", "commission": "1.5 USDT"}),
    )
    outcome = run(cfg, url)
    assert outcome.fill_prices == bars_base.fill_prices
    assert {Decimal(c.split()[0]) for c in outcome.commissions} == {Decimal("1.5")}


def test_fill_model_slippage_moves_each_fill_one_tick(
    workspace: tuple[Path, str], bars_base: Outcome
) -> None:
    catalog, url = workspace
    cfg = mutated(BARS, catalog, change("venues", 0, "fill_model", to={"prob_slippage": 1.0}))
    outcome = run(cfg, url)
    assert len(outcome.fill_prices) == len(bars_base.fill_prices)
    diffs = {abs(a - b) for a, b in zip(outcome.fill_prices, bars_base.fill_prices, strict=True)}
    assert diffs == {Decimal("0.1")}  # one tick of the instrument


def test_fill_model_seed_changes_which_fills_slip(workspace: tuple[Path, str]) -> None:
    catalog, url = workspace

    def with_seed(seed: int) -> Outcome:
        model = {"prob_slippage": 0.5, "random_seed": seed}
        return run(mutated(BARS, catalog, change("venues", 0, "fill_model", to=model)), url)

    first, again, other = with_seed(1), with_seed(1), with_seed(2)
    assert first.fill_prices == again.fill_prices
    assert first.fill_prices != other.fill_prices


def test_prob_fill_on_limit_reaches_the_venue_fill_model(workspace: tuple[Path, str]) -> None:
    # It only acts when the market touches a resting limit price exactly (queue position), which
    # neither bundled strategy's fills do; what is shown here is that the venue NautilusTrader
    # builds from the config (with its own node helper) gets the value.
    catalog, _url = workspace
    model = {"prob_fill_on_limit": 0.25, "random_seed": 7}
    cfg = mutated(QUOTES, catalog, change("venues", 0, "fill_model", to=model))
    fill_model = get_fill_model(build_run_config(cfg).venues[0])
    assert fill_model.prob_fill_on_limit == 0.25
    assert [fill_model.is_limit_filled() for _ in range(2000)].count(True) in range(400, 600)


def test_bar_execution_off_means_bars_fill_nothing(workspace: tuple[Path, str]) -> None:
    catalog, url = workspace
    outcome = run(mutated(BARS, catalog, change("venues", 0, "bar_execution", to=False)), url)
    assert outcome.fill_prices == ()


def test_support_contingent_orders_off_unlinks_bracket_orders(workspace: tuple[Path, str]) -> None:
    """NautilusTrader's bracket strategy on the USD/JPY quotes: with contingent orders supported
    (the default) the venue holds a bracket's stop-loss and take-profit until the entry fills
    (OTO) and cancels them when the entry expires; off, each child is matched on its own at
    once, where as a reduce-only order with no position it is rejected."""
    catalog, url = workspace
    bracket = change(
        "strategies",
        0,
        to={
            "path": "nautilus_trader.examples.strategies.ema_cross_bracket:EMACrossBracket",
            "config_path": "nautilus_trader.examples.strategies.ema_cross_bracket:"
            "EMACrossBracketConfig",
            "config": {
                "instrument_id": "USD/JPY.SIM",
                "bar_type": "USD/JPY.SIM-15-MINUTE-BID-INTERNAL",
                "trade_size": "1000000",
                "bracket_distance_atr": 1.0,
            },
        },
    )

    def children_by_entry_status(cfg: LiveexecConfig) -> dict[str, Counter[str]]:
        """Statuses of the bracket children, by the final status of their entry order."""
        orders = _backtest(cfg, database_url=url).orders
        entries = dict(
            orders.filter(pl.col("parent_order_id").is_null())
            .select("client_order_id", "status")
            .iter_rows()
        )
        children: dict[str, Counter[str]] = {}
        for parent, status in (
            orders.filter(pl.col("parent_order_id").is_not_null())
            .select("parent_order_id", "status")
            .iter_rows()
        ):
            children.setdefault(entries[parent], Counter())[status] += 1
        return children

    linked = children_by_entry_status(mutated(FX, catalog, bracket))
    unlinked = children_by_entry_status(
        mutated(FX, catalog, bracket, change("venues", 0, "support_contingent_orders", to=False))
    )
    # Linked: the children of every expired entry were cancelled with it.
    assert set(linked["EXPIRED"]) == {"CANCELED"}
    assert linked["EXPIRED"]["CANCELED"] > 0
    # Unlinked: nothing cancels a child; each was matched alone as soon as it was submitted.
    assert all("CANCELED" not in statuses for statuses in unlinked.values())
    assert set(unlinked["EXPIRED"]) == {"REJECTED"}
    assert unlinked["EXPIRED"]["REJECTED"] == linked["EXPIRED"]["CANCELED"]


def test_data_window_moves_the_first_fill(workspace: tuple[Path, str], bars_base: Outcome) -> None:
    catalog, url = workspace
    cfg = mutated(BARS, catalog, change("data", "start", to="2022-01-04T00:00:00Z"))
    outcome = run(cfg, url)
    assert bars_base.first_fill_ns is not None and outcome.first_fill_ns is not None
    assert outcome.first_fill_ns >= 1_641_254_400_000_000_000 > bars_base.first_fill_ns
    assert len(outcome.fill_prices) < len(bars_base.fill_prices)


def test_strategy_parameters_move_the_run(workspace: tuple[Path, str], bars_base: Outcome) -> None:
    catalog, url = workspace
    cfg = mutated(BARS, catalog, change("strategies", 0, "config", "fast_ema_period", to=5))
    assert run(cfg, url).fill_prices != bars_base.fill_prices


def test_min_quantity_above_the_order_size_denies_every_order(
    workspace: tuple[Path, str],
) -> None:
    catalog, url = workspace
    outcome = run(mutated(BARS, catalog, change("instruments", 0, "min_quantity", to="1")), url)
    assert set(outcome.statuses) == {"DENIED"}


def test_risk_submit_rate_reaches_nautilus_risk_engine(
    workspace: tuple[Path, str], bars_base: Outcome
) -> None:
    catalog, url = workspace
    cfg = mutated(BARS, catalog, change("risk", "max_order_submit_rate", to="1/01:00:00"))
    outcome = run(cfg, url)
    assert outcome.statuses["DENIED"] > 0
    assert outcome.statuses["FILLED"] < bars_base.statuses["FILLED"]


def test_risk_max_notional_denies_larger_orders_and_bypass_lifts_it(
    workspace: tuple[Path, str], quotes_base: Outcome
) -> None:
    catalog, url = workspace
    # 0.01 BTC at ~40,000 USDT is ~400 USDT of notional: a 100 USDT limit denies every order.
    limit = change("risk", "max_notional_per_order", to={"BTCUSDT.BINANCE": "100"})
    denied = run(mutated(QUOTES, catalog, limit), url)
    assert set(denied.statuses) == {"DENIED"}
    assert denied.fill_prices == ()
    assert denied.denial_reasons
    assert all(r.startswith("NOTIONAL_EXCEEDS_MAX_PER_ORDER") for r in denied.denial_reasons)
    lifted = run(mutated(QUOTES, catalog, limit, change("risk", "bypass", to=True)), url)
    assert lifted.statuses == quotes_base.statuses


def test_logging_and_trader_id_do_not_change_what_trades(
    workspace: tuple[Path, str], bars_base: Outcome
) -> None:
    catalog, url = workspace
    base = mutated(BARS, catalog)
    other = mutated(
        BARS, catalog, change("logging", to={"level": "INFO"}), change("trader_id", to="DESK-7")
    )
    assert other.config_id == base.config_id
    outcome = run(mutated(BARS, catalog, change("trader_id", to="DESK-7")), url)
    assert outcome.fill_prices == bars_base.fill_prices
    assert outcome.balances == bars_base.balances


@pytest.mark.parametrize(
    ("name", "changes", "location"),
    [
        (BARS, [change("venues", 0, "starting_balances", to=["0 USDT"])], "venues[0]"),
        (BARS, [change("venues", 0, "starting_balances", to=["-5 USDT"])], "venues[0]"),
        (BARS, [change("venues", 0, "default_leverage", to=5000)], "venues[0].default_leverage"),
        (BARS, [change("venues", 0, "account_type", to="CASH")], "instruments[0]"),
        (BARS, [change("venues", 0, "book_type", to="L2_MBP")], "venues[0].book_type"),
        (
            BARS,
            [change("risk", "max_notional_per_order", to={"BTCUSDT-PERP.SIM": "1000"})],
            "risk.max_notional_per_order.BTCUSDT-PERP.SIM",
        ),
        (BARS, [change("risk", "max_open_orders", to=0)], "risk.max_open_orders"),
        # a loss limit needs the currency it is in (risk.reporting_currency)
        (BARS, [change("risk", "max_daily_loss", to="100")], "risk.max_daily_loss"),
        (
            BARS,
            [change("risk", "kill_switch", to={"max_drawdown_pct": 5})],
            "risk.kill_switch",
        ),
    ],
)
def test_values_that_make_no_sense_or_are_not_enforced_are_refused(
    workspace: tuple[Path, str], name: str, changes: list[Callable[[Raw], None]], location: str
) -> None:
    catalog, _url = workspace
    with pytest.raises(ConfigError) as exc:
        mutated(name, catalog, *changes)
    assert any(issue.location.startswith(location) for issue in exc.value.issues), exc.value


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        (
            [
                change("venues", 0, "base_currency", to="USDX"),
                change("venues", 0, "starting_balances", to=["100000 USDX"]),
            ],
            "venues[0]",
        ),
        ([change("strategies", 0, "config", "trade_size", to="-0.1")], "strategies[0].config"),
        ([change("instruments", 0, "price_precision", to=2)], "instruments[0]"),
        (
            [
                change("data", "start", to="2023-01-01T00:00:00Z"),
                change("data", "end", to="2023-02-01T00:00:00Z"),
            ],
            "data.start",
        ),
    ],
)
def test_preflight_refuses_before_anything_is_written(
    workspace: tuple[Path, str], changes: list[Callable[[Raw], None]], location: str
) -> None:
    catalog, url = workspace
    cfg = mutated(BARS, catalog, *changes)
    engine = create_db_engine(url)
    try:
        before = len(list_runs(engine, limit=1000))
        with pytest.raises(ConfigError) as exc:
            _backtest(cfg, database_url=url)
        assert len(list_runs(engine, limit=1000)) == before
    finally:
        engine.dispose()
    assert any(issue.location.startswith(location) for issue in exc.value.issues), exc.value
