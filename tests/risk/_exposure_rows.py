"""Rows of other traders' runs, written straight into the tables (as their recorders would)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session

from liveexec.db import Run, UnifiedOrder, UnifiedPosition

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def add_run(engine: Engine, trader_id: str, mode: str, status: str = "running") -> str:
    run_id = str(uuid.uuid4())
    with Session(engine) as session:
        session.add(
            Run(
                run_id=run_id,
                trader_id=trader_id,
                mode=mode,
                config_id="0" * 64,
                config={},
                liveexec_version="test",
                nautilus_version="1.231.0",
                started_at=T0,
                status=status,
                # another machine's process, alive: its heartbeat is fresh (a run whose owner
                # is gone is marked abandoned by the next run that starts, and stops counting)
                owner_host="desk-2.example",
                owner_pid=4242,
                heartbeat_at=datetime.now(UTC),
            )
        )
        session.commit()
    return run_id


def add_order(
    engine: Engine,
    run_id: str,
    trader_id: str,
    instrument_id: str,
    side: str,
    quantity: str,
    *,
    filled: str = "0",
    status: str = "ACCEPTED",
    mode: str = "live",
) -> None:
    with Session(engine) as session:
        client_order_id = f"O-{uuid.uuid4().hex[:12]}"
        session.add(
            UnifiedOrder(
                operation_id=str(uuid.uuid4()),
                run_id=run_id,
                trader_id=trader_id,
                strategy_id="S-001",
                mode=mode,
                instrument_id=instrument_id,
                venue=instrument_id.rsplit(".", 1)[1],
                client_order_id=client_order_id,
                side=side,
                order_type="LIMIT",
                time_in_force="GTC",
                quantity=Decimal(quantity),
                price=Decimal(1),
                filled_qty=Decimal(filled),
                status=status,
                fills=[],
                commissions={},
                tags=[],
                created_at=T0,
                updated_at=T0,
                ts_last_event=T0,
                last_event_ns=0,
            )
        )
        session.commit()


def add_position(
    engine: Engine,
    run_id: str,
    trader_id: str,
    instrument_id: str,
    net_qty: str,
    *,
    status: str = "OPEN",
) -> None:
    qty = Decimal(net_qty)
    with Session(engine) as session:
        session.add(
            UnifiedPosition(
                run_id=run_id,
                trader_id=trader_id,
                strategy_id="S-001",
                instrument_id=instrument_id,
                position_id=f"P-{uuid.uuid4().hex[:12]}",
                opening_order_id="O-1",
                side="LONG" if qty > 0 else "SHORT" if qty < 0 else "FLAT",
                net_qty=qty,
                peak_qty=abs(qty),
                avg_px_open=Decimal(100),
                realized_pnl=Decimal(0),
                currency="USDT",
                status=status,
                opened_at=T0,
                updated_at=T0,
            )
        )
        session.commit()
