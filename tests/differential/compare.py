"""Both sides of a differential case as plain rows, and their differences as readable text.

Fills are matched by (client order id, trade id) and positions by (position id, opening order
id): NautilusTrader generates both deterministically in a backtest, so the same run gives the
same ids on both sides and a row that is missing, extra or different is named exactly.

Two limits come from what liveexec's tables keep: order and position times are compared at the
microsecond (the databases' timestamp resolution; fills keep ``ts_event`` in nanoseconds and are
compared exactly), and a position's closing order id only once ``unified_positions`` has a
``closing_order_id`` column (the other fields, close time included, still pin each position down).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from liveexec.runs import RunResult
from tests.differential.reference import ReferenceRun

__all__ = ["Outcome", "differences", "from_liveexec", "from_reference"]

SHOWN = 5  # rows of each kind of difference printed

FillKey = tuple[str, str]
PositionKey = tuple[str, str]


@dataclass(frozen=True)
class Outcome:
    orders: dict[str, dict[str, Any]]
    fills: dict[FillKey, dict[str, Any]]
    positions: dict[PositionKey, dict[str, Any]]
    balances: dict[str, Decimal]

    def summary(self) -> str:
        balances = ", ".join(f"{amount} {code}" for code, amount in sorted(self.balances.items()))
        return (
            f"{len(self.orders)} orders, {len(self.fills)} fills, {len(self.positions)} positions; "
            f"balances {balances}"
        )


def _money(text: str) -> tuple[Decimal, str]:
    amount, currency = text.split()
    return Decimal(amount), currency


def _micros(ns: int | None) -> datetime | None:
    """Nanoseconds since the epoch at the microsecond resolution the database keeps."""
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1_000
    )


def _decimal(value: Any) -> Decimal | None:  # a report cell: text, NaN or None
    if value is None or (isinstance(value, float) and value != value):  # NaN: no price
        return None
    return Decimal(str(value))


def from_reference(run: ReferenceRun) -> Outcome:
    orders: dict[str, dict[str, Any]] = {}
    for client_order_id, order in run.orders.iterrows():
        orders[str(client_order_id)] = {
            "instrument_id": order["instrument_id"],
            "side": order["side"],
            "order_type": order["type"],
            "quantity": Decimal(order["quantity"]),
            "price": _decimal(order.get("price")),  # no column when every order is a market order
            "status": order["status"],
            "filled_qty": Decimal(order["filled_qty"]),
            "created_at": _micros(int(order["ts_init"])),
        }
    fills: dict[FillKey, dict[str, Any]] = {}
    frame = run.fills.reset_index() if not run.fills.empty else pd.DataFrame()
    for row in frame.to_dict("records"):
        commission, currency = _money(str(row["commission"]))
        key = (str(row["client_order_id"]), str(row["trade_id"]))
        fills[key] = {
            "side": str(row["order_side"]),
            "last_qty": Decimal(str(row["last_qty"])),
            "last_px": Decimal(str(row["last_px"])),
            "commission": commission,
            "commission_currency": currency,
            "liquidity_side": str(row["liquidity_side"]),
            "ts_event": pd.Timestamp(row["ts_event"]).value,
        }
    positions: dict[PositionKey, dict[str, Any]] = {}
    for position in run.positions:
        key = (position["position_id"], position["opening_order_id"])
        positions[key] = {
            "instrument_id": position["instrument_id"],
            "realized_pnl": position["realized_pnl"],
            "currency": position["currency"],
            "peak_qty": position["peak_qty"],
            "opened_at": _micros(position["ts_opened"]),
            "closed_at": _micros(position["ts_closed"]),
            "closing_order_id": position["closing_order_id"],
        }
    return Outcome(orders=orders, fills=fills, positions=positions, balances=dict(run.balances))


def from_liveexec(result: RunResult) -> Outcome:
    orders: dict[str, dict[str, Any]] = {
        row["client_order_id"]: {
            "instrument_id": row["instrument_id"],
            "side": row["side"],
            "order_type": row["order_type"],
            "quantity": row["quantity"],
            "price": row["price"],
            "status": row["status"],
            "filled_qty": row["filled_qty"],
            "created_at": row["created_at"],
        }
        for row in result.orders.iter_rows(named=True)
    }
    fills: dict[FillKey, dict[str, Any]] = {}
    for row in result.fills.iter_rows(named=True):
        commission, currency = _money(row["commission"])
        fills[(row["client_order_id"], row["trade_id"])] = {
            "side": row["side"],
            "last_qty": Decimal(row["last_qty"]).normalize(),
            "last_px": Decimal(row["last_px"]).normalize(),
            "commission": commission,
            "commission_currency": currency,
            "liquidity_side": row["liquidity_side"],
            "ts_event": row["ts_event"],
        }
    has_closing = "closing_order_id" in result.positions.columns
    positions: dict[PositionKey, dict[str, Any]] = {}
    for row in result.positions.iter_rows(named=True):
        positions[(row["position_id"], row["opening_order_id"])] = {
            "instrument_id": row["instrument_id"],
            "realized_pnl": row["realized_pnl"],
            "currency": row["currency"],
            "peak_qty": row["peak_qty"],
            "opened_at": row["opened_at"],
            "closed_at": row["closed_at"],
            # liveexec's positions table does not keep the closing order (yet): see differences()
            "closing_order_id": row["closing_order_id"] if has_closing else None,
        }
    # `ending` is what the venue's last AccountState reported; null for a currency it never
    # held (JPY PnL converted into a USD account), which NautilusTrader's account omits too.
    balances = {
        code: amount
        for code, amount in result.account.select("currency", "ending").iter_rows()
        if amount is not None
    }
    return Outcome(orders=orders, fills=fills, positions=positions, balances=balances)


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, Decimal) and isinstance(theirs, Decimal):
        return ours == theirs  # numerically: 0.100 == 0.1
    if isinstance(ours, datetime) and isinstance(theirs, datetime):
        return ours == theirs
    return bool(ours == theirs)


def _rows(
    name: str,
    ours: dict[Any, dict[str, Any]],
    theirs: dict[Any, dict[str, Any]],
    order_by: str,
    ignore: frozenset[str],
) -> list[str]:
    lines: list[str] = []

    def when(row: dict[str, Any]) -> Any:
        return row[order_by]

    missing = sorted((k for k in theirs if k not in ours), key=lambda k: when(theirs[k]))
    extra = sorted((k for k in ours if k not in theirs), key=lambda k: when(ours[k]))
    if missing:
        lines.append(f"{name}: {len(missing)} in NautilusTrader only, first:")
        lines.extend(f"    {key} {theirs[key]}" for key in missing[:SHOWN])
    if extra:
        lines.append(f"{name}: {len(extra)} in liveexec only, first:")
        lines.extend(f"    {key} {ours[key]}" for key in extra[:SHOWN])
    differing: list[str] = []
    for key in sorted((k for k in theirs if k in ours), key=lambda k: when(theirs[k])):
        fields = [
            f"{field}: liveexec {ours[key][field]!r} != nautilus {value!r}"
            for field, value in theirs[key].items()
            if field not in ignore and not _same(ours[key][field], value)
        ]
        if fields:
            differing.append(f"    {key} " + "; ".join(fields))
    if differing:
        lines.append(f"{name}: {len(differing)} differ, first:")
        lines.extend(differing[:SHOWN])
    return lines


def differences(ours: Outcome, theirs: Outcome, *, closing_orders: bool = True) -> list[str]:
    """Every disagreement, first rows first; empty when the two runs are the same.

    ``closing_orders=False`` leaves out the positions' closing order id, for a liveexec whose
    positions table does not record it (the other fields still pin every position down).
    """
    lines: list[str] = []
    if len(ours.orders) != len(theirs.orders):
        lines.append(f"orders: liveexec {len(ours.orders)} != nautilus {len(theirs.orders)}")
    lines += _rows("orders", ours.orders, theirs.orders, "created_at", frozenset())
    lines += _rows("fills", ours.fills, theirs.fills, "ts_event", frozenset())
    ignore = frozenset() if closing_orders else frozenset({"closing_order_id"})
    lines += _rows("positions", ours.positions, theirs.positions, "opened_at", ignore)
    for code in sorted(set(ours.balances) | set(theirs.balances)):
        mine, reference = ours.balances.get(code), theirs.balances.get(code)
        if mine is None or reference is None or mine != reference:
            lines.append(f"balance {code}: liveexec {mine} != nautilus {reference}")
    if lines:
        lines.insert(0, f"liveexec:        {ours.summary()}")
        lines.insert(1, f"NautilusTrader:  {theirs.summary()}")
    return lines
