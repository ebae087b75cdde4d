"""The books of the risk model: positions and working quantities per (strategy, instrument) and
trader-wide per instrument, the working orders this model approved, the open-order counts and
the one-cancels-other groups.

Worst case: a position counts the working orders that would add to it, so for a buy the
position checked is ``position + working buys + order``, and for a sell ``position - working
sells - order``; a fill moves quantity from working to position and never changes the worst
case. A one-cancels-other (or one-updates-other) group fills at most one member, so it adds to
its books only its largest member on each side, and no more than ``cap - filled``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from liveexec.risk._types import OrderIntent

__all__ = ["EMPTY", "Book", "Books", "Group", "Working"]

_ZERO = Decimal(0)


@dataclass(slots=True)
class Book:
    """Signed position and working quantities of one (strategy or trader, instrument)."""

    position: Decimal = _ZERO
    working_buy: Decimal = _ZERO
    working_sell: Decimal = _ZERO

    def worst_long(self) -> Decimal:
        return self.position + self.working_buy

    def worst_short(self) -> Decimal:
        return self.position - self.working_sell

    def worst_abs(self) -> Decimal:
        return max(abs(self.worst_long()), abs(self.worst_short()))


EMPTY = Book()  # read-only stand-in for a book with nothing in it (never mutated)


@dataclass(slots=True)
class Working:
    strategy_id: str
    instrument_id: str
    is_buy: bool
    leaves: Decimal
    group: str | None = None


@dataclass(slots=True)
class Group:
    """Working members of a one-cancels-other (or one-updates-other) group: at most ``cap``
    (its largest member) fills in all, so on each side it can add its largest member's
    remaining quantity, and no more than ``cap - filled``. ``buy``/``sell``: what it adds to
    its books now."""

    members: dict[str, Working] = field(default_factory=dict)
    cap: Decimal = _ZERO
    filled: Decimal = _ZERO
    buy: Decimal = _ZERO
    sell: Decimal = _ZERO

    def reach(self) -> tuple[Decimal, Decimal]:
        room = self.cap - self.filled
        buy = sell = _ZERO
        for member in self.members.values():
            if member.is_buy:
                buy = max(buy, member.leaves)
            else:
                sell = max(sell, member.leaves)
        return max(min(buy, room), _ZERO), max(min(sell, room), _ZERO)


def reduces(book: Book, order: OrderIntent) -> bool:
    """Whether the order, filled in full with every working order on its side, only brings
    the strategy's position closer to flat (never across it)."""
    if order.is_buy:
        return book.position < _ZERO and book.worst_long() + order.quantity <= _ZERO
    return book.position > _ZERO and book.worst_short() - order.quantity >= _ZERO


class Books:
    """Positions from fills, working orders from their events, open-order counts, groups.

    Books are created on an order's acceptance (or a restored position) and never removed, so
    a reference to one (the model's per-order plans keep them) stays current. ``changed``: a
    set the instruments whose trader-wide book changed go into (the exposure sums', once
    they are kept; None before)."""

    __slots__ = ("by_instrument", "by_strategy", "changed", "groups", "open_by_strategy", "working")

    def __init__(self) -> None:
        self.by_strategy: dict[tuple[str, str], Book] = {}  # (strategy, instrument)
        self.by_instrument: dict[str, Book] = {}  # trader-wide per instrument
        self.working: dict[str, Working] = {}
        self.open_by_strategy: dict[str, int] = {}
        self.groups: dict[str, Group] = {}  # one-cancels-other groups with working members
        self.changed: set[str] | None = None

    def fill(self, client_order_id: str, quantity: Decimal) -> None:
        """A fill of a working order: quantity moves from working to the position."""
        working = self.working.get(client_order_id)
        if working is None:
            return  # not an order this model approved (e.g. submitted before it started)
        qty = min(quantity, working.leaves)
        signed = qty if working.is_buy else -qty
        self.by_strategy[(working.strategy_id, working.instrument_id)].position += signed
        self.by_instrument[working.instrument_id].position += signed
        if self.changed is not None:
            self.changed.add(working.instrument_id)
        group = self.groups.get(working.group) if working.group is not None else None
        if group is not None:
            group.filled += qty
        self.set_leaves(client_order_id, working, working.leaves - qty)

    def close(self, client_order_id: str) -> None:
        """The order can no longer fill (canceled, expired, rejected, denied downstream)."""
        working = self.working.get(client_order_id)
        if working is not None:
            self.set_leaves(client_order_id, working, _ZERO)

    def update(self, client_order_id: str, leaves: Decimal) -> None:
        """A modified order's new remaining quantity."""
        working = self.working.get(client_order_id)
        if working is None:
            return
        group = self.groups.get(working.group) if working.group is not None else None
        if group is not None and group.filled > _ZERO and leaves > working.leaves:
            # A member grown after its group filled: counted on its own from now on (the
            # group's room, cap - filled, no longer bounds it).
            self.set_leaves(client_order_id, working, _ZERO)  # leaves the group
            working.group = None
            self.working[client_order_id] = working
            self.open_by_strategy[working.strategy_id] += 1
            self.set_leaves(client_order_id, working, leaves)
            return
        if group is not None:
            group.cap = max(group.cap, leaves)  # filled == 0: the cap is the largest member
        self.set_leaves(client_order_id, working, leaves)

    def set_leaves(self, client_order_id: str, working: Working, leaves: Decimal) -> None:
        """Set an order's remaining quantity and move the books' working quantities by what
        that changes in the worst case (for a group member: its group's reach)."""
        group = self.groups.get(working.group) if working.group is not None else None
        if group is None:
            delta = leaves - working.leaves
            working.leaves = leaves
            buy, sell = (delta, _ZERO) if working.is_buy else (_ZERO, delta)
        else:
            working.leaves = leaves
            if leaves <= _ZERO:
                del group.members[client_order_id]
            buy, sell = group.reach()
            buy, sell = buy - group.buy, sell - group.sell
            group.buy += buy
            group.sell += sell
            if not group.members:
                assert working.group is not None
                del self.groups[working.group]
        if buy or sell:
            for book in (
                self.by_strategy[(working.strategy_id, working.instrument_id)],
                self.by_instrument[working.instrument_id],
            ):
                book.working_buy += buy
                book.working_sell += sell
            if self.changed is not None:
                self.changed.add(working.instrument_id)
        if leaves <= _ZERO:
            self.forget(client_order_id, working)

    def forget(self, client_order_id: str, working: Working) -> None:
        del self.working[client_order_id]
        self.open_by_strategy[working.strategy_id] -= 1

    def join(self, order: OrderIntent, group_key: str) -> None:
        """Count an accepted member of a one-cancels-other group (its books exist)."""
        group = self.groups.get(group_key)
        if group is None:
            group = self.groups[group_key] = Group()
        working = Working(order.strategy_id, order.instrument_id, order.is_buy, _ZERO, group_key)
        group.members[order.client_order_id] = working
        group.cap = max(group.cap, order.quantity)
        self.working[order.client_order_id] = working
        self.set_leaves(order.client_order_id, working, order.quantity)

    def restore_position(self, strategy_id: str, instrument_id: str, signed_qty: Decimal) -> None:
        """A position open when the node started, counted as a fill would have been."""
        for book in (
            self.by_strategy.setdefault((strategy_id, instrument_id), Book()),
            self.by_instrument.setdefault(instrument_id, Book()),
        ):
            book.position += signed_qty
        if self.changed is not None:
            self.changed.add(instrument_id)

    def group_key(self, order: OrderIntent) -> str | None:
        """The group an order joins: its members share strategy and instrument; a group that
        has filled takes no new members (a late member starts a group of its own)."""
        if order.group is None:
            return None
        key = f"{order.strategy_id}|{order.instrument_id}|{order.group}"
        group = self.groups.get(key)
        if group is not None and group.filled > _ZERO:
            return f"{key}|{order.client_order_id}"
        return key

    def added(self, order: OrderIntent) -> Decimal:
        """What the order adds to the worst case on its side: its quantity, or for a member of
        a one-cancels-other group only what it adds to the group's largest member."""
        if order.group is None:
            return order.quantity
        key = self.group_key(order)
        group = self.groups.get(key) if key is not None else None
        if group is None:
            return order.quantity
        current = group.buy if order.is_buy else group.sell  # filled == 0: the side's largest
        return order.quantity - current if order.quantity > current else _ZERO

    def strategy(self, strategy_id: str, instrument_id: str) -> Book:
        """The strategy's book in the instrument (read-only :data:`EMPTY` if none)."""
        return self.by_strategy.get((strategy_id, instrument_id)) or EMPTY

    def reducible(self, order: OrderIntent) -> Decimal:
        """How much of the order can only close its strategy's position (on the other side,
        less the working orders already closing it): the rest opens a new one on a flip."""
        book = self.strategy(order.strategy_id, order.instrument_id)
        if order.is_buy:
            room = -book.position - book.working_buy
        else:
            room = book.position - book.working_sell
        return room if room > _ZERO else _ZERO

    def tracked(self) -> dict[str, int]:
        return {"working_orders": len(self.working), "groups": len(self.groups)}
