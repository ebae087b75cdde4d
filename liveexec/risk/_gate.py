"""The risk gate: liveexec's checks in front of NautilusTrader's own risk engine.

Strategies (and execution algorithms, and the order emulator when it releases an order) send
their ``SubmitOrder``, ``SubmitOrderList`` and ``ModifyOrder`` commands to the message bus
endpoint ``RiskEngine.execute``; cancels go straight to ``ExecEngine.execute``. The gate takes
over that endpoint: :meth:`RiskGate.attach` deregisters NautilusTrader's ``RiskEngine.execute``
handler and registers its own, which runs liveexec's checks and then either calls the
NautilusTrader risk engine's handler (so its own checks, rates and trading state still apply)
or denies the order exactly as NautilusTrader's risk engine does: the order is added to the
cache and an ``OrderDenied`` is sent to ``ExecEngine.process``, which applies it to the order
and publishes it on ``events.order.{strategy_id}``. The strategy, unmodified, sees
``on_order_denied``. Both ``BacktestNode`` and ``TradingNode`` build the same kernel (message
bus, cache, risk and execution engines), so the gate works the same in both.

The gate is an ``Actor`` instance: add it to the node's trader (``engine.add_actor(gate)`` in
a backtest, ``node.trader.add_actor(gate)`` in a live node), then call
``gate.attach(kernel.risk_engine)`` before the node starts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import ModifyOrder, SubmitOrder, SubmitOrderList
from nautilus_trader.model.data import Bar, QuoteTick, TradeTick
from nautilus_trader.model.enums import (
    ContingencyType,
    OrderSide,
    OrderStatus,
    PositionSide,
    PriceType,
)
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    OrderUpdated,
    PositionEvent,
)
from nautilus_trader.model.identifiers import InstrumentId, StrategyId
from nautilus_trader.model.objects import FIXED_DECIMAL_SCALE, Currency, Quantity
from sqlalchemy import Engine

from liveexec.risk._denials import DenialStreaks
from liveexec.risk._exposure import DatabaseExposureCheck
from liveexec.risk._model import RiskModel
from liveexec.risk._state_store import StateStore, state_store
from liveexec.risk._store import HaltWatcher, LossMarkWriter
from liveexec.risk._types import InstrumentInfo, OrderIntent, RiskLimits, TradingState

__all__ = ["RiskGate"]

ENDPOINT = "RiskEngine.execute"
_CLOSED = (OrderCanceled, OrderExpired, OrderRejected, OrderDenied)
# Runs before the strategies' handlers (priority 0) and NautilusTrader's risk engine (10):
# the gate knows a bar's price and a fill before the strategy reacts to them.
_PRIORITY = 100
_GROUPED = (ContingencyType.OCO, ContingencyType.OUO)  # at most one member's quantity fills
_BUY = OrderSide.BUY
_ZERO = Decimal(0)
_CACHE_SIZE = 65_536  # entries per raw -> Decimal memo before it is cleared
# Approved orders that closed before the recorder asked about them: the oldest are forgotten
# beyond this (the recorder asks within one flush: every 512 changed orders or a fraction of a
# second of wall time).
_CLOSED_KEPT = 65_536


def _decimal(cache: dict[int, Decimal], raw: int) -> Decimal:
    """The Decimal ``Quantity/Price/Money.as_decimal()`` returns for ``raw`` (the same value
    and exponent: the same division), memoised: ``as_decimal`` costs ~1.7 µs, this ~0.1 µs."""
    value = cache.get(raw)
    if value is None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        value = cache[raw] = Decimal(raw) / FIXED_DECIMAL_SCALE
    return value


class _Funding:
    """What the available balance check reads for one instrument: the instrument, the
    venue's account, whether it is a margin account, and the currency (and its code) the
    account charges for a buy and for a sell, once known (a cash account locks the quote
    currency for a buy, the base currency for a sell)."""

    __slots__ = ("account", "buy", "instrument", "is_margin", "sell")

    def __init__(self, instrument: Any, account: Any, is_margin: bool) -> None:  # noqa: ANN401
        self.instrument = instrument
        self.account = account
        self.is_margin = is_margin
        self.buy: tuple[Any, str] | None = None
        self.sell: tuple[Any, str] | None = None


class _OrderPath:
    """The gate's order path (:meth:`decide`: the order's intent, the model's check, the
    database exposure and available balance checks, acceptance) on a plain object with slots:
    an attribute of the gate (a subclass of NautilusTrader's Cython ``Actor``) costs ~30 ns to
    read, a slot here ~10 ns, and the path reads some twenty per order. The gate shares its
    dicts (the same objects) and reaches the gate for what is not on the order path."""

    __slots__ = (
        "check_funds",
        "checks",
        "database_exposure",
        "funding",
        "gate",
        "instrument_keys",
        "model",
        "order_prices",
        "pending",
        "pending_total",
        "price_fields",
        "price_values",
        "quantities",
        "strategy_keys",
    )

    def __init__(
        self,
        gate: RiskGate,
        model: RiskModel,
        *,
        check_funds: bool,
        database_exposure: DatabaseExposureCheck | None,
    ) -> None:
        self.gate = gate
        self.model = model
        self.check_funds = check_funds
        self.database_exposure = database_exposure  # risk.database_exposure (_exposure.py)
        self.checks = 0  # orders decided
        # Per-object caches that keep NautilusTrader conversions out of the order path.
        self.instrument_keys: dict[InstrumentId, str] = {}
        self.strategy_keys: dict[StrategyId, str] = {}
        self.quantities: dict[int, Decimal] = {}  # raw -> Decimal
        self.price_values: dict[int, Decimal] = {}
        # order type -> (has a price attribute, has a trigger_price attribute)
        self.price_fields: dict[type, tuple[bool, bool]] = {}
        self.order_prices: tuple[Any, Any] = (None, None)  # of the order intent() read last
        # Funds an approved order needs until the account shows it (its OrderAccepted, or its
        # end): client order id -> (currency code, raw amount, a market order); totals per
        # currency. (A market order's only when it fills: NautilusTrader locks nothing for an
        # order with no price.)
        self.pending: dict[str, tuple[str, int, bool]] = {}
        self.pending_total: dict[str, int] = {}
        # instrument id -> what the available balance check reads for it
        self.funding: dict[str, _Funding] = {}

    def intent(self, order: Any) -> OrderIntent | str:  # noqa: ANN401 (a NautilusTrader Order)
        if order.is_quote_quantity:
            return "quote-quantity orders cannot be checked by the risk gate (fail closed)"
        # The limit and trigger prices (None where the order's type has none): as getattr(order,
        # "price", None), with which attributes a type has memoised (a getattr that misses
        # raises and catches an AttributeError inside, ~0.5 µs). Kept for :meth:`funds`, which
        # checks this order next.
        kind = type(order)
        has = self.price_fields.get(kind)
        if has is None:
            has = (hasattr(kind, "price"), hasattr(kind, "trigger_price"))
            self.price_fields[kind] = has
        price = order.price if has[0] else None
        trigger = order.trigger_price if has[1] else None
        self.order_prices = (price, trigger)
        strategy_id = order.strategy_id
        sid = self.strategy_keys.get(strategy_id)
        if sid is None:
            sid = self.strategy_keys[strategy_id] = strategy_id.value
        group: str | None = None
        # (linked_order_ids first: it is None for most orders, and reading contingency_type
        # builds an enum member, ~0.1 µs)
        if order.linked_order_ids and order.contingency_type in _GROUPED:
            # the group's key: the smallest client order id among its members
            group = min(order.client_order_id.value, *(c.value for c in order.linked_order_ids))
        instrument_id = order.instrument_id
        iid = self.instrument_keys.get(instrument_id)
        if iid is None:
            iid = self.gate._instrument_key(instrument_id)
        raw = order.quantity.raw
        quantity = self.quantities.get(raw)
        if quantity is None:
            quantity = _decimal(self.quantities, raw)
        cache = self.price_values
        if price is not None:
            raw = price.raw
            price_value = cache.get(raw)
            if price_value is None:
                price_value = _decimal(cache, raw)
        else:
            price_value = None
        return OrderIntent(
            order.client_order_id.value,
            sid,
            iid,
            order.is_buy,  # (order.side == BUY builds an enum member first)
            quantity,
            price_value,
            _decimal(cache, trigger.raw) if trigger is not None else None,
            price is None and trigger is None,  # takes the market's price
            order.is_reduce_only,
            group,
        )

    def decide(self, order: Any, now: int) -> str | None:  # noqa: ANN401 (an Order)
        self.checks += 1
        try:
            intent = self.intent(order)
            if isinstance(intent, str):
                return intent
            model = self.model
            reason = model.check(intent, now)
            # reducing orders pass the two checks below
            if reason is None and not model.checked_reduces:
                if self.database_exposure is not None:
                    reason = self.database_exposure.reason(model, intent)
                if reason is None and self.check_funds:
                    reason = self.funds(order, intent)
            if reason is None:
                model.accept(intent, now)
            return reason
        except Exception as exc:  # a check that cannot be evaluated denies (fail closed)
            self.model.on_order_closed(order.client_order_id.value)
            return _not_evaluated("order", exc)

    def funds(self, order: Any, intent: OrderIntent) -> str | None:  # noqa: ANN401 (an Order)
        """Deny an order the account cannot pay for, as NautilusTrader's accounting computes
        it: initial margin (``MarginAccount.calculate_margin_init``) or the cash it locks
        (``CashAccount.calculate_balance_locked``: the notional for a buy, the base quantity
        for a sell) against the account's free balance in that currency, less what approved
        orders the account does not show yet need. On a margin account an order that flips
        the position needs margin only for what opens the new one (``reducible``, the part
        that closes the old one, frees margin rather than taking it: ``RiskModel.reducible``,
        read from the book the model's check of this order used)."""
        funding = self.funding.get(intent.instrument_id)
        if funding is None:
            instrument = self.gate.cache.instrument(order.instrument_id)
            account = self.gate.cache.account_for_venue(order.instrument_id.venue)
            if instrument is None or account is None:
                venue = order.instrument_id.venue
                missing = "instrument" if instrument is None else f"account for {venue}"
                return f"available balance: no {missing} in the cache (fail closed)"
            # the cache keeps one Account object per venue and applies each state to it
            funding = _Funding(instrument, account, account.is_margin_account)
            self.funding[intent.instrument_id] = funding
        instrument, account = funding.instrument, funding.account
        limit, trigger = self.order_prices  # the order's, as intent() read them
        price = limit or trigger
        is_market = price is None
        if price is None:  # a market order: the price it would take now
            quote = self.gate.cache.quote_tick(order.instrument_id)
            if quote is not None:
                price = quote.ask_price if order.side == _BUY else quote.bid_price
            else:
                trade = self.gate.cache.trade_tick(order.instrument_id)
                bar = None if trade is not None else self.gate._last_bar_close(order.instrument_id)
                price = trade.price if trade is not None else bar
            if price is None:
                return f"available balance: no price for {order.instrument_id} (fail closed)"
        flip = ""
        is_buy = intent.is_buy
        if funding.is_margin:
            what = "initial margin"
            quantity = order.quantity
            # RiskModel.reducible, inlined, of the book the model's check read: only a
            # position on the other side can be reduced (working quantities are never
            # negative, so -position - working_buy > 0 needs position < 0)
            book = self.model.checked_book
            position = book.position
            if position < _ZERO if is_buy else position > _ZERO:  # (Decimal with Decimal: faster)
                reducible = -position - book.working_buy if is_buy else position - book.working_sell
                if reducible > _ZERO:  # a flip: the part that opens the new position
                    quantity = Quantity.from_raw(
                        quantity.raw - int(reducible * FIXED_DECIMAL_SCALE), quantity.precision
                    )
                    flip = f" ({quantity} of it opens a position)"
            needed = account.calculate_margin_init(instrument, quantity, price)
        else:
            what = "cash to lock"
            needed = account.calculate_balance_locked(instrument, order.side, order.quantity, price)
        charged = funding.buy if is_buy else funding.sell
        if charged is None:  # always the same currency for a side of an instrument
            currency = needed.currency
            charged = (currency, currency.code)
            if is_buy:
                funding.buy = charged
            else:
                funding.sell = charged
        currency, code = charged
        free = account.balance_free(currency)
        pending = self.pending_total.get(code, 0)
        free_raw = free.raw if free is not None else 0
        needed_raw = needed.raw
        if needed_raw + pending > free_raw:
            waiting = (
                f" (less {_decimal({}, pending)} {code} for approved orders not yet accepted)"
                if pending
                else ""
            )
            return (
                f"available balance: {what} {needed.as_decimal()} {code} for "
                f"{order.quantity}{flip} @ {price} > free {_decimal({}, free_raw)} {code}{waiting}"
            )
        self.pending[intent.client_order_id] = (code, needed_raw, is_market)
        self.pending_total[code] = pending + needed_raw
        return None


class Approvals:
    """The client order ids the gate approved, as the recorder asks for them (``in``) to fill
    ``unified_orders.risk_decision``; bounded over a long run.

    An id is kept while its order works. Once the order has ended it is kept until the first
    question about it: the recorder asks when it builds the order's row, which it does after
    the closing event (the gate sees events before the recorder), and the writer keeps the
    stored ``approved`` when a later row carries none (``COALESCE``). At most
    ``_CLOSED_KEPT`` ended ids wait for their question; with no recorder the oldest go.
    """

    __slots__ = ("_closed", "_open")

    def __init__(self) -> None:
        self._open: set[str] = set()
        self._closed: OrderedDict[str, None] = OrderedDict()  # the oldest first

    def add(self, client_order_id: str) -> None:
        self._open.add(client_order_id)

    def close(self, client_order_id: str) -> None:
        """The order has ended: its id waits for the recorder's question."""
        if client_order_id in self._open:
            self._open.remove(client_order_id)
            closed = self._closed
            closed[client_order_id] = None
            if len(closed) > _CLOSED_KEPT:
                closed.popitem(last=False)  # O(1), unlike deleting a plain dict's first key

    def __contains__(self, client_order_id: object) -> bool:
        if client_order_id in self._open:
            return True
        if isinstance(client_order_id, str) and client_order_id in self._closed:
            del self._closed[client_order_id]
            return True
        return False

    def __len__(self) -> int:
        return len(self._open) + len(self._closed)

    @property
    def working(self) -> int:
        """Approved orders not ended yet."""
        return len(self._open)


class RiskGate(Actor):  # type: ignore[misc]  # NautilusTrader's Actor is an untyped Cython class
    # the order path's methods (_OrderPath's, bound in __init__)
    _decide: Callable[[Any, int], str | None]
    _intent: Callable[[Any], OrderIntent | str]
    _funds: Callable[[Any, OrderIntent], str | None]

    def __init__(
        self,
        limits: RiskLimits,
        *,
        reporting_currency: str | None = None,
        trader_id: str,
        mode: str,
        run_id: str | None = None,
        database: Engine | StateStore | None = None,
        kill_switch: bool = False,
        poll_interval_s: float = 0.5,
        check_funds: bool = False,
        database_exposure: DatabaseExposureCheck | None = None,
    ) -> None:
        super().__init__(ActorConfig(component_id="LiveexecRiskGate"))
        self.model = RiskModel(limits, reporting_currency)
        self._reporting = Currency.from_str(reporting_currency) if reporting_currency else None
        # instruments valued in another currency: id text -> (venue, their currency)
        self._fx: dict[str, tuple[Any, Any]] = {}
        self._trader_id = trader_id
        self._mode = mode
        self._run_id = run_id
        # halts, state changes and loss marks: the node's database (an engine's tables) or
        # another state store (_state_store.py; memory for tests and sweeps)
        self._store = state_store(database) if database is not None else None
        self._watcher = (
            HaltWatcher(self._store, trader_id, interval_s=poll_interval_s)
            if kill_switch and self._store is not None
            else None
        )
        self._nautilus: Callable[[Any], None] | None = None
        self._risk_engine: Any = None
        self._prices: dict[InstrumentId, tuple[Any, int]] = {}  # NautilusTrader Price, ts
        # The order path (decide, intent, funds) and the dicts the gate shares with it.
        path = self._path = _OrderPath(
            self, self.model, check_funds=check_funds, database_exposure=database_exposure
        )
        self._decide = path.decide
        self._intent = path.intent
        self._funds = path.funds
        self._instrument_keys = path.instrument_keys
        self._quantities = path.quantities
        self._price_values = path.price_values
        self._pending = path.pending
        self._pending_total = path.pending_total
        self._mark_writer: LossMarkWriter | None = None  # paper and live, with loss limits
        # Approved orders, for the recorder (bounded: see Approvals); count of denials (of
        # decisions: checks).
        self.approved = Approvals()
        self.denials = 0
        # Denial streaks (``_denials.py``): set by the node's wiring when the run is recorded.
        self.streaks: DenialStreaks | None = None
        self.state_write_error: str | None = None

    @property
    def checks(self) -> int:
        """Orders and modifications decided."""
        return self._path.checks

    @property
    def database_exposure(self) -> DatabaseExposureCheck | None:
        """The risk.database_exposure check (``_exposure.py``), if configured."""
        return self._path.database_exposure

    @database_exposure.setter
    def database_exposure(self, check: DatabaseExposureCheck | None) -> None:
        self._path.database_exposure = check

    @property
    def _order_prices(self) -> tuple[Any, Any]:
        """The limit and trigger prices of the order ``_intent`` read last."""
        return self._path.order_prices

    # -- wiring ------------------------------------------------------------------------------

    def attach(self, risk_engine: Any) -> None:  # noqa: ANN401 (NautilusTrader RiskEngine)
        """Take over ``RiskEngine.execute`` (call once the gate is registered with the
        trader, before the node starts)."""
        self._risk_engine = risk_engine
        self._nautilus = risk_engine.execute
        self.msgbus.deregister(ENDPOINT, risk_engine.execute)
        self.msgbus.register(ENDPOINT, self._execute)
        bus = self.msgbus
        bus.subscribe(topic="events.order.*", handler=self._on_order_event, priority=_PRIORITY)
        bus.subscribe(topic="events.position.*", handler=self._on_position, priority=_PRIORITY)
        bus.subscribe(topic="data.quotes.*", handler=self._on_quote, priority=_PRIORITY)
        bus.subscribe(topic="data.trades.*", handler=self._on_trade, priority=_PRIORITY)
        bus.subscribe(topic="data.bars.*", handler=self._on_bar, priority=_PRIORITY)

    def detach(self) -> None:
        if self._risk_engine is None:
            return
        self.msgbus.deregister(ENDPOINT, self._execute)
        self.msgbus.register(ENDPOINT, self._risk_engine.execute)
        bus = self.msgbus
        bus.unsubscribe(topic="events.order.*", handler=self._on_order_event)
        bus.unsubscribe(topic="events.position.*", handler=self._on_position)
        bus.unsubscribe(topic="data.quotes.*", handler=self._on_quote)
        bus.unsubscribe(topic="data.trades.*", handler=self._on_trade)
        bus.unsubscribe(topic="data.bars.*", handler=self._on_bar)
        self._risk_engine = None

    def on_start(self) -> None:
        """Rebuild the state from the database and start reading the kill switch."""
        now = self.clock.timestamp_ns()
        self._restore_books(now)
        if self._store is not None and self._mode != "backtest":
            # A paper or live node resumes in the state its trader was left in (a backtest
            # starts afresh: its state is its own run's).
            try:
                found = self._store.last_state(self._trader_id, self._mode)
            except Exception as exc:  # cannot rebuild the state: no orders (fail closed)
                self.model.restore_loss_state(
                    TradingState.HALTED,
                    f"state could not be rebuilt from the database ({type(exc).__name__}); "
                    "fail closed",
                )
            else:
                if found is not None and found[0] != TradingState.ACTIVE:
                    self.model.restore_loss_state(*found)
            self._restore_loss_mark(self._store)
        if self._watcher is not None:
            self._watcher.start()
            self.model.set_halt(*self._watcher.current(), now)
        if self.database_exposure is not None:
            self.database_exposure.start()
        self._write_changes()

    def _restore_books(self, now: int) -> None:
        """The positions and working orders the node starts with (a resumed paper run's,
        restored into the cache before the node starts; a live node's, reconciled with the
        venue) go into the model's books, so the limits count them and closing orders reduce."""
        model = self.model
        for position in self.cache.positions_open():
            iid = self._instrument_key(position.instrument_id)
            signed = position.signed_decimal_qty()
            model.restore_position(position.strategy_id.value, iid, signed)
            realized = position.realized_pnl
            model.on_position(
                position.id.value,
                iid,
                signed_qty=signed,
                avg_px_open=Decimal(repr(position.avg_px_open)),
                realized_pnl=realized.as_decimal() if realized is not None else Decimal(0),
                ts_ns=now,
            )
        seen: set[str] = set()
        for order in (*self.cache.orders_open(), *self.cache.orders_inflight()):
            client_order_id = order.client_order_id.value
            if client_order_id in seen:
                continue
            seen.add(client_order_id)
            intent = self._intent(order)
            if isinstance(intent, str):  # a quote-quantity order: its base quantity is unknown
                self.log.warning(f"Working order {client_order_id} not counted: {intent}")
                continue
            intent.quantity = _decimal(self._quantities, order.leaves_qty.raw)
            model.restore_working(intent)

    def _restore_loss_mark(self, store: StateStore) -> None:
        """Drawdown and daily loss go on from where the trader's last node left them."""
        if not self.model.needs_losses:
            return
        try:
            mark = store.last_loss_mark(self._trader_id, self._mode)
        except Exception as exc:  # cannot rebuild the peak: no orders (fail closed)
            self.model.restore_loss_state(
                TradingState.HALTED,
                f"drawdown peak could not be rebuilt from the database ({type(exc).__name__});"
                " fail closed",
            )
            return
        if mark is not None:
            self.model.restore_loss_mark(mark)
        self._mark_writer = LossMarkWriter(
            store,
            self.model.loss_mark,
            trader_id=self._trader_id,
            mode=self._mode,
            run_id=self._run_id,
        )
        self._mark_writer.start()

    def on_stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        if self.database_exposure is not None:
            self.database_exposure.stop()
        if self._mark_writer is not None:
            self._mark_writer.stop()
            self._mark_writer = None
        self._write_changes()

    # -- market data and events --------------------------------------------------------------

    def _on_quote(self, tick: QuoteTick) -> None:
        self._prices[tick.instrument_id] = (tick, tick.ts_event)

    def _on_trade(self, tick: TradeTick) -> None:
        self._prices[tick.instrument_id] = (tick.price, tick.ts_event)

    def _on_bar(self, bar: Bar) -> None:
        self._prices[bar.bar_type.instrument_id] = (bar.close, bar.ts_event)

    def _sync_prices(self) -> None:
        if not self._prices:
            return
        prices, self._prices = self._prices, {}
        model = self.model
        cache = self._price_values
        for instrument_id, (price, ts) in prices.items():
            if isinstance(price, QuoteTick):
                value = (
                    _decimal(cache, price.bid_price.raw) + _decimal(cache, price.ask_price.raw)
                ) / 2
            else:
                value = _decimal(cache, price.raw)
            model.set_price(self._instrument_key(instrument_id), value, ts)
        if self._fx:
            self._sync_rates()

    def _sync_rates(self) -> None:
        """The node's current exchange rates for the instruments valued in another currency
        than the reporting one: NautilusTrader's own (``Cache.get_xrate``, the mid of the
        latest quotes, or bid/ask bars, of the currency pairs at the instrument's venue)."""
        for key, (venue, currency) in self._fx.items():
            rate = self.cache.get_xrate(venue, currency, self._reporting, PriceType.MID)
            self.model.set_rate(key, Decimal(repr(rate)) if rate else None)

    def _on_order_event(self, event: Any) -> None:  # noqa: ANN401 (any OrderEvent)
        kind = type(event)
        if kind is OrderFilled:
            client_order_id = event.client_order_id.value
            if self._pending:
                self._release(client_order_id)
            model = self.model
            model.on_fill(client_order_id, _decimal(self._quantities, event.last_qty.raw))
            if not model.is_working(client_order_id):
                self.approved.close(client_order_id)
        elif kind is OrderAccepted:
            if self._pending:
                self._release(event.client_order_id.value, accepted=True)
        elif kind in _CLOSED:
            client_order_id = event.client_order_id.value
            if self._pending:
                self._release(client_order_id)
            self.model.on_order_closed(client_order_id)
            self.approved.close(client_order_id)
        elif kind is OrderUpdated:
            order = self.cache.order(event.client_order_id)
            if order is not None:
                self.model.on_order_updated(
                    event.client_order_id.value, _decimal(self._quantities, order.leaves_qty.raw)
                )

    def _release(self, client_order_id: str, *, accepted: bool = False) -> None:
        """Stop counting an order's funds: the account counts them now (accepted with a
        price, or filled), or it has ended."""
        pending = self._pending.get(client_order_id)
        if pending is not None and not (accepted and pending[2]):
            del self._pending[client_order_id]
            self._pending_total[pending[0]] -= pending[1]

    def _on_position(self, event: PositionEvent) -> None:
        quantity = event.quantity.as_decimal()
        signed = -quantity if event.side == PositionSide.SHORT else quantity
        realized = event.realized_pnl.as_decimal() if event.realized_pnl is not None else Decimal(0)
        self._sync_prices()
        self.model.on_position(
            event.position_id.value,
            event.instrument_id.value,
            signed_qty=signed if event.side != PositionSide.FLAT else Decimal(0),
            avg_px_open=Decimal(repr(event.avg_px_open)),
            realized_pnl=realized,
            ts_ns=event.ts_event,
        )
        if event.side == PositionSide.FLAT:
            # Closed: NautilusTrader reopens a NETTING position under the same id with its
            # realized PnL from zero (a HEDGING one is never reopened), so the model banks
            # this one's realized PnL and forgets it.
            self.model.forget_position(event.position_id.value)
        if self.model.changes:
            self._write_changes()

    # -- commands ----------------------------------------------------------------------------

    def _execute(self, command: Any) -> None:  # noqa: ANN401 (a TradingCommand)
        kind = type(command)
        if kind is SubmitOrder:
            self._submit(command)
        elif kind is SubmitOrderList:
            self._submit_list(command)
        elif kind is ModifyOrder:
            self._modify(command)
        else:
            self._forward(command)

    def _forward(self, command: Any) -> None:  # noqa: ANN401
        assert self._nautilus is not None, "attach() the gate before the node starts"
        self._nautilus(command)

    def _prepare(self) -> int:
        now: int = self.clock.timestamp_ns()
        self._sync_prices()
        if self._watcher is not None:
            self.model.set_halt(*self._watcher.current(), now)
        return now

    def _instrument_key(self, instrument_id: InstrumentId) -> str:
        """The instrument's id text, learning its valuation the first time it is seen."""
        known = self._instrument_keys.get(instrument_id)
        if known is not None:
            return known
        key: str = instrument_id.value
        self._instrument_keys[instrument_id] = key
        instrument = self.cache.instrument(instrument_id)
        if instrument is not None and not getattr(instrument, "is_inverse", False):
            currency = instrument.get_settlement_currency()
            self.model.set_instrument(
                key,
                InstrumentInfo(
                    multiplier=instrument.multiplier.as_decimal(),
                    tick=instrument.price_increment.as_decimal(),
                    currency=currency.code,
                ),
            )
            if self._reporting is not None and currency != self._reporting:
                self._fx[key] = (instrument_id.venue, currency)
                self._sync_rates()
        else:  # unknown (asked again next time) or inverse: no valuation, its orders denied
            del self._instrument_keys[instrument_id]
        return key

    def _last_bar_close(self, instrument_id: InstrumentId) -> Any:  # noqa: ANN401 (a Price)
        for bar_type in self.cache.bar_types(instrument_id=instrument_id):
            bar = self.cache.bar(bar_type)
            if bar is not None:
                return bar.close
        return None

    def _submit(self, command: SubmitOrder) -> None:
        now = self._prepare()
        order = command.order
        reason = self._decide(order, now)
        if self.model.changes:
            self._write_changes()
        if reason is None:
            self.approved.add(order.client_order_id.value)
            if self.streaks is not None:
                self.streaks.passed(
                    strategy_id=order.strategy_id.value, instrument_id=order.instrument_id.value
                )
            self._forward(command)
        else:
            self.denials += 1
            self._deny(order, reason)

    def _submit_list(self, command: SubmitOrderList) -> None:
        now = self._prepare()
        approved: list[str] = []
        reason: str | None = None
        for order in command.order_list.orders:
            reason = self._decide(order, now)
            if reason is not None:
                reason = f"order list {command.order_list.id}: {order.client_order_id}: {reason}"
                break
            approved.append(order.client_order_id.value)
        if reason is None:
            for client_order_id in approved:
                self.approved.add(client_order_id)
            if self.streaks is not None:
                for order in command.order_list.orders:
                    self.streaks.passed(
                        strategy_id=order.strategy_id.value,
                        instrument_id=order.instrument_id.value,
                    )
            self._forward(command)
            return
        for client_order_id in approved:  # none of the list leaves: as if never accepted
            self.model.withdraw(client_order_id, now)
            self._release(client_order_id)
        self.denials += len(command.order_list.orders)
        for order in command.order_list.orders:
            if not order.is_closed:
                self._deny(order, reason)

    def _modify(self, command: ModifyOrder) -> None:
        order = self.cache.order(command.client_order_id)
        if order is None or order.is_closed:
            self._forward(command)  # NautilusTrader's risk engine reports it
            return
        now = self._prepare()
        current = _decimal(self._quantities, order.quantity.raw)
        new_qty = (
            _decimal(self._quantities, command.quantity.raw)
            if command.quantity is not None
            else current
        )
        price = command.price or getattr(order, "price", None)
        trigger = command.trigger_price or getattr(order, "trigger_price", None)
        increase = OrderIntent(
            client_order_id=order.client_order_id.value,
            strategy_id=order.strategy_id.value,
            instrument_id=self._instrument_key(order.instrument_id),
            is_buy=order.side == OrderSide.BUY,
            quantity=max(new_qty - current, Decimal(0)),
            price=_decimal(self._price_values, price.raw) if price is not None else None,
            trigger=_decimal(self._price_values, trigger.raw) if trigger is not None else None,
        )
        self._path.checks += 1
        model = self.model
        try:
            reason = model.check_increase(increase, now)
            if (
                reason is None
                and self.database_exposure is not None
                and increase.quantity > 0  # a price-only modify adds nothing to anyone's exposure
                and not model.reduces(increase)
            ):
                reason = self.database_exposure.reason(model, increase)
        except Exception as exc:  # a check that cannot be evaluated rejects (fail closed)
            reason = _not_evaluated("modify", exc)
        if reason is None:
            self._forward(command)
            return
        ts = self.clock.timestamp_ns()
        rejected = OrderModifyRejected(
            trader_id=order.trader_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            account_id=order.account_id,
            reason=reason,
            event_id=UUID4(),
            ts_event=ts,
            ts_init=ts,
        )
        self.msgbus.send(endpoint="ExecEngine.process", msg=rejected)

    def _deny(self, order: Any, reason: str) -> None:  # noqa: ANN401 (a NautilusTrader Order)
        """As NautilusTrader's ``RiskEngine._deny_order``: the execution engine applies the
        ``OrderDenied`` to the order and publishes it to the strategy."""
        line = f"SubmitOrder for {order.client_order_id} DENIED by liveexec: {reason}"
        if order.status != OrderStatus.INITIALIZED:
            self.log.warning(line)
            return  # INITIALIZED -> DENIED is the only valid transition
        in_full = self.streaks is None or self.streaks.denied(
            strategy_id=order.strategy_id.value,
            instrument_id=order.instrument_id.value,
            client_order_id=order.client_order_id.value,
            reason=reason,
            ts_ns=self.clock.timestamp_ns(),
        )
        if in_full:  # the rest of a streak is only counted, in the log as in the tables
            self.log.warning(line)
        if not self.cache.order_exists(order.client_order_id):
            self.cache.add_order(order)
        denied = OrderDenied(
            trader_id=order.trader_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            reason=reason,
            event_id=UUID4(),
            ts_init=self.clock.timestamp_ns(),
        )
        self.msgbus.send(endpoint="ExecEngine.process", msg=denied)

    # -- trading state rows ------------------------------------------------------------------

    def _write_changes(self) -> None:
        changes, self.model.changes = self.model.changes, []
        if not changes:
            return
        for change in changes:
            self.log.warning(
                f"Trading state {change.previous.name} -> {change.state.name}: {change.reason}"
            )
        if self._store is None:
            return
        try:
            self._store.record_state_changes(
                changes,
                trader_id=self._trader_id,
                run_id=self._run_id,
                mode=self._mode,
            )
        except Exception as exc:  # the state itself is applied; the row is what is lost
            self.state_write_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            self.log.error(f"Could not record trading state changes: {self.state_write_error}")


def _not_evaluated(what: str, exc: Exception) -> str:
    """The reason of a command a check raised on: refused, naming the error (fail closed)."""
    verdict = "denied" if what == "order" else "rejected"
    return (
        f"the risk gate could not evaluate the {what} ({type(exc).__name__}: {exc}): "
        f"{verdict} (fail closed)"
    )
