"""The recorder's write path: idempotent, newest state wins, exact on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from liveexec.db import UnifiedOrder, create_db_engine, upgrade
from liveexec.recording import Batch, RecordBuffer, write_batch
from liveexec.recording import _writer as writer
from liveexec.runs import read_table

T0 = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.fixture(params=["pipeline", "copy"], autouse=True)
def postgres_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test through both PostgreSQL write paths: small batches in one pipeline, large
    ones through COPY (forced here for the tests' small batches)."""
    if request.param == "copy":
        monkeypatch.setattr(writer, "PIPELINE_MAX_ROWS", 0)
    return str(request.param)


@pytest.fixture
def engine(db_url: str) -> Engine:
    upgrade(db_url)
    engine = create_db_engine(db_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (run_id, trader_id, mode, config_id, config, liveexec_version, "
                "nautilus_version, started_at, status) VALUES ('r1', 'T-1', 'backtest', 'c', '{}', "
                "'0', '1', :t, 'running')"
            ),
            {"t": T0 if engine.dialect.name != "sqlite" else "2024-01-02 03:04:05.000000"},
        )
    return engine


def order(status: str, ns: int, filled: str) -> dict[str, Any]:
    return {
        "operation_id": "op-1",
        "run_id": "r1",
        "trader_id": "T-1",
        "strategy_id": "S-1",
        "mode": "backtest",
        "instrument_id": "X.SIM",
        "venue": "SIM",
        "client_order_id": "O-1",
        "venue_order_id": None,
        "parent_order_id": None,
        "exec_spawn_id": None,
        "exec_algorithm_id": None,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GTC",
        "quantity": Decimal("12345678901234567.123456789012345678"),
        "price": Decimal("1.5"),
        "trigger_price": None,
        "filled_qty": Decimal(filled),
        "avg_px": None,
        "status": status,
        "fills": [],
        "commissions": {"USD": "0.01"},
        "risk_decision": None,
        "risk_reason": None,
        "route": None,
        "tags": ["a"],
        "created_at": T0,
        "updated_at": T0,
        "ts_last_event": T0,
        "last_event_ns": ns,
        "last_event_seq": ns,
    }


def event(event_id: str, ns: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "run_id": "r1",
        "operation_id": "op-1",
        "client_order_id": "O-1",
        "strategy_id": "S-1",
        "instrument_id": "X.SIM",
        "event_type": "OrderAccepted",
        "ts_event": ns,
        "ts_init": ns,
        "payload": {"n": ns},
        "recorded_at": T0,
    }


def batch_of(*orders: dict[str, Any], events: tuple[dict[str, Any], ...] = ()) -> Batch:
    batch = Batch()
    for row in events:
        batch.add_event(row)
    for row in orders:
        batch.add_order(row)
    return batch


def test_replaying_a_batch_gives_the_same_rows(engine: Engine) -> None:
    batch = batch_of(order("ACCEPTED", 2, "0"), events=(event("e1", 1), event("e2", 2)))
    write_batch(engine, batch)
    first = read_table(engine, UnifiedOrder.__table__)  # type: ignore[attr-defined]
    write_batch(engine, batch)
    again = read_table(engine, UnifiedOrder.__table__)  # type: ignore[attr-defined]
    assert first.equals(again)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM order_events")).scalar_one() == 2
    row = first.row(0, named=True)
    assert row["quantity"] == Decimal("12345678901234567.123456789012345678")
    assert row["created_at"] == T0


def test_an_older_state_never_overwrites_a_newer_one(engine: Engine) -> None:
    write_batch(engine, batch_of(order("FILLED", 5, "1")))
    write_batch(engine, batch_of(order("ACCEPTED", 3, "0")))  # late, replayed event
    row = read_table(engine, UnifiedOrder.__table__).row(0, named=True)  # type: ignore[attr-defined]
    assert (row["status"], row["filled_qty"]) == ("FILLED", Decimal(1))


def test_within_a_batch_the_newest_state_is_kept(engine: Engine) -> None:
    write_batch(engine, batch_of(order("SUBMITTED", 1, "0"), order("FILLED", 2, "1")))
    row = read_table(engine, UnifiedOrder.__table__).row(0, named=True)  # type: ignore[attr-defined]
    assert row["status"] == "FILLED"


def test_buffer_flushes_everything_on_close(engine: Engine) -> None:
    buffer = RecordBuffer(engine, capacity=10, batch_rows=3, flush_interval_s=0.01)
    for n in range(50):
        buffer.submit("event", event(f"e{n}", n))
    buffer.close()
    assert buffer.stats.submitted == 50
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM order_events")).scalar_one() == 50
