"""``risk``: NautilusTrader's own risk engine settings and liveexec's pre-trade risk gate
limits (per instrument, per strategy, trader-wide, across the database), with the kill switch."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from liveexec.config._base import (
    Check,
    CurrencyCode,
    FrozenModel,
    InstrumentId,
    PositiveDecimal,
    RateStr,
    venue_of,
)
from liveexec.config._components import strategy_ids
from liveexec.config._instruments import (
    CryptoPerpetualSpec,
    CurrencyPairSpec,
    ProvidedInstrumentsSpec,
    settlement_currency,
)
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = [
    "RISK_CHECKS",
    "DatabaseExposureConfig",
    "InstrumentRiskLimits",
    "KillSwitchConfig",
    "RiskConfig",
    "StrategyRiskLimits",
]


class KillSwitchConfig(FrozenModel):
    """The manual kill switch: ``liveexec halt TRADER_ID`` / ``liveexec resume TRADER_ID``.

    Halts are rows in the database; the risk gate reads them at start and every
    ``poll_interval_s`` seconds of wall time, and denies every order while its trader is halted
    (or lets only reducing orders through for ``liveexec halt --reducing``). If the database
    cannot be read, orders are denied until it can (fail closed).
    """

    enabled: bool = Field(
        default=True,
        description="Honour halts from the database (paper and live; backtests: in_backtest).",
    )
    in_backtest: bool = Field(
        default=False,
        description=(
            "Backtests honour the kill switch too (off by default: halting a live trader should "
            "not stop research runs under the same trader id)."
        ),
    )
    poll_interval_s: Annotated[float, Field(ge=0.05, le=1.0)] = Field(
        default=0.5, description="Seconds of wall time between two reads of the halts table."
    )
    max_drawdown_pct: Annotated[Decimal, Field(gt=0, le=100)] | None = Field(
        default=None, description="Not enforced (use risk.max_drawdown): refused if set."
    )
    max_consecutive_rejects: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Not enforced: refused if set."
    )
    flatten_on_trigger: bool = Field(
        default=False,
        description="Not enforced (a halt stops new orders, it does not close positions): "
        "refused if true.",
    )

    def unenforced(self) -> list[str]:
        return [
            name
            for name in ("max_drawdown_pct", "max_consecutive_rejects", "flatten_on_trigger")
            if getattr(self, name) != type(self).model_fields[name].get_default()
        ]


class InstrumentRiskLimits(FrozenModel):
    """Limits on one instrument, across all strategies of the trader (quantities in the
    instrument's units, notionals in its quote currency)."""

    max_order_qty: PositiveDecimal | None = Field(
        default=None, description="Largest quantity of one order."
    )
    max_order_notional: PositiveDecimal | None = Field(
        default=None, description="Largest notional of one order, at its price or the last."
    )
    max_position_qty: PositiveDecimal | None = Field(
        default=None,
        description="Largest position either way, counting working orders that would add to it.",
    )
    max_position_notional: PositiveDecimal | None = Field(
        default=None, description="As max_position_qty, valued at the last price."
    )
    price_band_bps: PositiveDecimal | None = Field(
        default=None,
        description="A limit or stop price further than this from the last price is denied.",
    )
    price_band_ticks: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="As price_band_bps, in price increments."
    )


class StrategyRiskLimits(FrozenModel):
    """Limits on one strategy (by its strategy id, e.g. 'EMACross-000')."""

    max_order_notional: PositiveDecimal | None = Field(
        default=None, description="Largest notional of one of its orders, per instrument."
    )
    max_position_qty: PositiveDecimal | None = Field(
        default=None, description="Per instrument, counting working orders that would add to it."
    )
    max_position_notional: PositiveDecimal | None = Field(
        default=None, description="Per instrument, valued at the last price."
    )
    max_open_orders: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Working orders of the strategy, all instruments."
    )
    max_orders_per_second: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Orders the strategy may submit in any one second."
    )
    max_orders_per_minute: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Orders the strategy may submit in any one minute."
    )


class DatabaseExposureConfig(FrozenModel):
    """Gross and net exposure of every trader sharing the database, in
    ``risk.reporting_currency``: this trader's own (the gate's state) plus the working orders
    and open positions other traders' running paper/live runs have in ``unified_orders`` and
    ``unified_positions`` (backtests never count). The other traders' figures are a snapshot
    read on a thread of its own every ``refresh_interval_s``; an order is denied when no read
    has succeeded for ``max_staleness_s`` (fail closed), and an order that only reduces is
    never denied by this check."""

    max_gross: PositiveDecimal | None = Field(
        default=None,
        description="Sum over instruments of |worst-case position| values, all traders' "
        "positions and working orders in each instrument netted together.",
    )
    max_net: PositiveDecimal | None = Field(
        default=None, description="|Sum of signed worst-case position values|, all traders."
    )
    modes: tuple[Literal["paper", "live"], ...] = Field(
        default=("paper", "live"),
        min_length=1,
        description="Which other traders' running runs count: 'paper', 'live' or both "
        "(backtests never count).",
    )
    refresh_interval_s: Annotated[float, Field(ge=0.05, le=5.0)] = Field(
        default=0.25, description="Seconds of wall time between two reads of the other traders."
    )
    max_staleness_s: Annotated[float, Field(gt=0, le=60.0)] = Field(
        default=2.0,
        description="Orders are denied while the last successful read is older than this "
        "(at least twice refresh_interval_s).",
    )
    in_backtest: bool = Field(
        default=False,
        description="Backtests are governed by the check too (off by default: a research run "
        "should not depend on what live traders hold now).",
    )


class RiskConfig(FrozenModel):
    """Pre-trade limits.

    ``bypass``, the two rates and ``max_notional_per_order`` configure NautilusTrader's own risk
    engine in every node. The other limits are liveexec's pre-trade risk gate (``liveexec.risk``):
    it sees every order a strategy submits before NautilusTrader's risk engine does, in backtest,
    paper and live nodes alike, and denies with NautilusTrader's ``OrderDenied``.
    """

    bypass: bool = Field(
        default=False, description="Skip NautilusTrader's pre-trade checks (rate limits stay)."
    )
    max_order_submit_rate: RateStr = Field(
        default="100/00:00:01", description="Submit commands per interval, 'count/HH:MM:SS'."
    )
    max_order_modify_rate: RateStr = Field(
        default="100/00:00:01", description="Modify commands per interval, 'count/HH:MM:SS'."
    )
    max_notional_per_order: dict[InstrumentId, PositiveDecimal] = Field(
        default_factory=dict,
        description="Per instrument, in its quote currency; larger orders are denied "
        "(NautilusTrader's check: CASH venues only; see instruments.*.max_order_notional).",
    )
    instruments: dict[InstrumentId, InstrumentRiskLimits] = Field(
        default_factory=dict, description="liveexec limits per instrument (trader-wide)."
    )
    strategies: dict[str, StrategyRiskLimits] = Field(
        default_factory=dict, description="liveexec limits per strategy id."
    )
    max_open_orders: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Working orders of the whole trader."
    )
    reporting_currency: CurrencyCode | None = Field(
        default=None,
        description="Currency of exposure and loss limits; an instrument that settles in another "
        "currency is converted at the node's exchange rate (quotes of the currency pairs at its "
        "venue); no rate: orders denied.",
    )
    max_gross_exposure: PositiveDecimal | None = Field(
        default=None, description="Sum of |position| values, counting working orders."
    )
    max_net_exposure: PositiveDecimal | None = Field(
        default=None, description="|Sum of signed position values|, counting working orders."
    )
    max_daily_loss: PositiveDecimal | None = Field(
        default=None,
        description="Loss (realized + unrealized) since the UTC day began that moves the trader "
        "to loss_action until the next UTC day.",
    )
    max_drawdown: PositiveDecimal | None = Field(
        default=None,
        description="Fall of total PnL (realized + unrealized) from its peak that moves the "
        "trader to loss_action for the rest of the run.",
    )
    loss_action: Literal["REDUCING", "HALTED"] = Field(
        default="REDUCING", description="Trading state after a loss limit is reached."
    )
    max_price_age_s: PositiveDecimal | None = Field(
        default=None,
        description="A last price older than this counts as no price (market orders and "
        "notional checks are then denied).",
    )
    check_available_balance: bool = Field(
        default=False,
        description="Deny an order the venue account cannot pay for: its initial margin "
        "(margin accounts) or the cash it locks (cash accounts: the notional of a buy, the "
        "base quantity of a sell) above the free balance, less what approved orders not yet "
        "accepted need. Orders that only reduce a position are not checked.",
    )
    kill_switch: KillSwitchConfig = Field(
        default=KillSwitchConfig(),
        description="The manual kill switch (`liveexec halt` / `liveexec resume`).",
    )
    database_exposure: DatabaseExposureConfig | None = Field(
        default=None,
        description="Exposure limits across every trader sharing the database (opt-in).",
    )

    def gate_checks(self) -> bool:
        """Whether any in-memory check of liveexec's risk gate is configured."""
        return any(
            getattr(self, name)
            != type(self).model_fields[name].get_default(call_default_factory=True)
            for name in (
                "instruments",
                "strategies",
                "max_open_orders",
                "max_gross_exposure",
                "max_net_exposure",
                "max_daily_loss",
                "max_drawdown",
                "max_price_age_s",
                "check_available_balance",
            )
        )

    def unenforced(self) -> list[str]:
        """The fields set to something no node enforces yet."""
        return [f"kill_switch.{name}" for name in self.kill_switch.unenforced()]


# --- cross-field checks -------------------------------------------------------------------------


def _validate_limits_enforced(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    for name in cfg.risk.unenforced():
        yield ConfigIssue(
            f"risk.{name}",
            "not enforced by this version of liveexec",
            "remove it rather than trade believing it is",
        )


def _validate_limited_instruments_exist(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    known = set(cfg.instrument_ids)
    if not known:
        return  # live mode may leave the instruments to the venue's provider
    for section in ("max_notional_per_order", "instruments"):
        for iid in getattr(cfg.risk, section):
            if iid not in known:
                yield ConfigIssue(
                    f"risk.{section}.{iid}",
                    f"{iid!r} is not among the instruments {sorted(known)}",
                    "limit an instrument the config trades, or add it under 'instruments'",
                )


def _validate_limited_strategies_exist(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    ids = strategy_ids(cfg)
    for sid in cfg.risk.strategies:
        if sid not in ids:
            yield ConfigIssue(
                f"risk.strategies.{sid}",
                f"{sid!r} is not among the strategy ids {ids}",
                "use one of them: a strategy's id is its strategy_id or class name, then its "
                "order_id_tag or its index",
            )


def _validate_strategy_limits_within_trader(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    risk = cfg.risk
    for sid, limits in risk.strategies.items():
        for field, trader_field in (
            ("max_open_orders", "max_open_orders"),
            ("max_position_notional", "max_gross_exposure"),
        ):
            own, trader = getattr(limits, field), getattr(risk, trader_field)
            if own is not None and trader is not None and own > trader:
                yield ConfigIssue(
                    f"risk.strategies.{sid}.{field}",
                    f"{own} is above the trader's limit risk.{trader_field} ({trader})",
                    "a strategy's limit above the trader's never binds: lower it or drop it",
                )


def _validate_strategy_limits_within_instrument(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    risk = cfg.risk
    for sid, limits in risk.strategies.items():
        for iid, inst in risk.instruments.items():
            for field in ("max_order_notional", "max_position_notional"):
                own, trader = getattr(limits, field), getattr(inst, field)
                if own is not None and trader is not None and own > trader:
                    yield ConfigIssue(
                        f"risk.strategies.{sid}.{field}",
                        f"{own} is above the instrument's limit "
                        f"risk.instruments.{iid}.{field} ({trader})",
                        "a strategy's limit above the instrument's never binds: lower it or "
                        "drop it",
                    )


def _validate_order_within_position(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    for iid, inst in cfg.risk.instruments.items():
        if (
            inst.max_order_qty is not None
            and inst.max_position_qty is not None
            and inst.max_order_qty > inst.max_position_qty
        ):
            yield ConfigIssue(
                f"risk.instruments.{iid}.max_order_qty",
                f"{inst.max_order_qty} is above max_position_qty ({inst.max_position_qty})",
                "an order from flat could never reach it: lower it to max_position_qty at most",
            )


def _validate_database_exposure(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    risk = cfg.risk
    limits = risk.database_exposure
    if limits is None:
        return
    where = "risk.database_exposure"
    if limits.max_gross is None and limits.max_net is None:
        yield ConfigIssue(
            where, "sets no limit", "set max_gross, max_net or both, or drop the section"
        )
    for name, trader_name in (("max_gross", "max_gross_exposure"), ("max_net", "max_net_exposure")):
        shared, own = getattr(limits, name), getattr(risk, trader_name)
        if shared is not None and own is not None and shared < own:
            yield ConfigIssue(
                f"{where}.{name}",
                f"{shared} is below this trader's own limit risk.{trader_name} ({own}), which "
                "then could never bind: the database-wide limit covers this trader and the others",
                f"raise it to risk.{trader_name} at least, or lower that",
            )
    if (
        limits.max_gross is not None
        and limits.max_net is not None
        and limits.max_net > limits.max_gross
    ):
        yield ConfigIssue(
            f"{where}.max_net",
            f"{limits.max_net} is above max_gross ({limits.max_gross}): net exposure never "
            "exceeds gross, so it could never bind",
            "lower it to max_gross at most",
        )
    if len(set(limits.modes)) != len(limits.modes):
        yield ConfigIssue(
            f"{where}.modes", f"{list(limits.modes)} names a mode twice", "name each mode once"
        )
    if limits.max_staleness_s < 2 * limits.refresh_interval_s:
        yield ConfigIssue(
            f"{where}.max_staleness_s",
            f"{limits.max_staleness_s:g} s is less than two reads "
            f"(refresh_interval_s {limits.refresh_interval_s:g} s): one slow read would deny "
            "every order",
            f"set it to {2 * limits.refresh_interval_s:g} s or more",
        )


def _limits_in_reporting_currency(risk: RiskConfig) -> list[str]:
    """The ``risk`` fields set whose figure is in ``risk.reporting_currency``."""
    needing = [
        name
        for name in ("max_gross_exposure", "max_net_exposure", "max_daily_loss", "max_drawdown")
        if getattr(risk, name) is not None
    ]
    if risk.database_exposure is not None:
        needing.extend(
            f"database_exposure.{name}"
            for name in ("max_gross", "max_net")
            if getattr(risk.database_exposure, name) is not None
        )
    return needing


def _validate_reporting_currency_given(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if cfg.risk.reporting_currency is not None:
        return
    for name in _limits_in_reporting_currency(cfg.risk):
        yield ConfigIssue(
            f"risk.{name}",
            "needs risk.reporting_currency (the currency of the limit)",
            "set risk.reporting_currency, e.g. USDT",
        )


def _converts(pairs: list[tuple[str, str]], source: str, target: str) -> bool:
    """Whether the currency pairs (base, quote) connect ``source`` to ``target``."""
    reached, frontier = {source}, [source]
    while frontier:
        currency = frontier.pop()
        for base, quote in pairs:
            for here, there in ((base, quote), (quote, base)):
                if here == currency and there not in reached:
                    reached.add(there)
                    frontier.append(there)
    return target in reached


def _validate_reporting_currency_reachable(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    """Instruments the gate cannot value in the reporting currency. It converts at
    NautilusTrader's exchange rate (``Cache.get_xrate``), built from the quotes of the currency
    pairs and perpetuals at the instrument's venue: one of them must lead from the instrument's
    currency to ``reporting`` (a venue whose instruments come from a provider is checked when
    the gate runs: no rate, no orders). An inverse instrument is valued in its base currency,
    which the gate does not convert."""
    reporting = cfg.risk.reporting_currency
    needing = _limits_in_reporting_currency(cfg.risk)
    if reporting is None or not needing:
        return
    drop = ", ".join("risk." + name for name in needing)
    pairs: dict[str, list[tuple[str, str]]] = {}
    provided: set[str] = set()
    for spec in cfg.instruments:
        if isinstance(spec, ProvidedInstrumentsSpec):
            provided.update(venue_of(iid) for iid in spec.ids)
        elif isinstance(spec, CurrencyPairSpec | CryptoPerpetualSpec):
            pairs.setdefault(spec.venue, []).append((spec.base_currency, spec.quote_currency))
    for index, spec in enumerate(cfg.instruments):
        if isinstance(spec, ProvidedInstrumentsSpec):
            continue
        currency = settlement_currency(spec)
        if currency is None:
            yield ConfigIssue(
                "risk.reporting_currency",
                f"instruments[{index}] ({spec.id}) is inverse: valued in its base currency, "
                f"which the risk gate does not convert to {reporting}",
                f"use a linear instrument or drop {drop}",
            )
        elif (
            currency != reporting
            and spec.venue not in provided
            and not _converts(pairs.get(spec.venue, []), currency, reporting)
        ):
            yield ConfigIssue(
                "risk.reporting_currency",
                f"instruments[{index}] ({spec.id}) is valued in {currency}, and no currency "
                f"pair at venue {spec.venue} leads from {currency} to {reporting} (the risk "
                "gate converts at NautilusTrader's exchange rate from their quotes)",
                f"add one, e.g. {reporting}/{currency} with its quotes, or drop {drop}",
            )


def _validate_notional_check_enforced(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    accounts = {venue.name: venue.account_type for venue in cfg.venues}
    for iid in cfg.risk.max_notional_per_order:
        if accounts.get(venue_of(iid)) == "MARGIN":
            yield ConfigIssue(
                f"risk.max_notional_per_order.{iid}",
                "NautilusTrader 1.231's risk engine skips this check for MARGIN accounts, so "
                "it would not be enforced",
                f"use risk.instruments.{iid}.max_order_notional, liveexec's own check on every "
                "account type, or trade on a CASH venue",
            )


RISK_CHECKS: tuple[Check, ...] = (
    _validate_limits_enforced,
    _validate_limited_instruments_exist,
    _validate_limited_strategies_exist,
    _validate_strategy_limits_within_trader,
    _validate_strategy_limits_within_instrument,
    _validate_order_within_position,
    _validate_database_exposure,
    _validate_reporting_currency_given,
    _validate_reporting_currency_reachable,
    _validate_notional_check_enforced,
)
