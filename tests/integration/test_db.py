from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, select

from liveexec.db import (
    Run,
    UnifiedOrder,
    create_db_engine,
    error_text,
    require_current_schema,
    upgrade,
)
from liveexec.errors import DatabaseUnavailableError, SchemaOutOfDateError

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    engine = create_db_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def make_run(run_id: str = "run-1") -> Run:
    return Run(
        run_id=run_id,
        trader_id="TRADER-001",
        mode="backtest",
        config_id="abc",
        config={"mode": "backtest"},
        liveexec_version="0",
        nautilus_version="1.231.0",
        started_at=T0,
        status="running",
    )


def make_order(client_order_id: str, **changes: object) -> UnifiedOrder:
    values: dict[str, object] = {
        "operation_id": f"op-{client_order_id}",
        "run_id": "run-1",
        "trader_id": "TRADER-001",
        "strategy_id": "EMACross-000",
        "mode": "backtest",
        "instrument_id": "BTCUSDT.BINANCE",
        "venue": "BINANCE",
        "client_order_id": client_order_id,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GTC",
        "quantity": Decimal("1.5"),
        "price": Decimal("42000.10"),
        "filled_qty": Decimal(0),
        "status": "ACCEPTED",
        "fills": [],
        "commissions": {},
        "tags": [],
        "created_at": T0,
        "updated_at": T0,
        "ts_last_event": T0,
        "last_event_ns": 1,
    }
    values.update(changes)
    return UnifiedOrder.model_validate(values)


@pytest.mark.parametrize(
    "amount",
    [
        "12345678901234567.123456789012345678",  # SQLite's NUMERIC returns 12345678901234568 here
        "0.000000000000000001",
        "-99999999999999999.999999999999999999",
        "42000.1",
        "0",
    ],
)
def test_money_round_trips_exactly(engine: Engine, amount: str) -> None:
    with Session(engine) as session:
        session.add(make_run())
        session.add(make_order("O-1", quantity=Decimal(amount), price=Decimal(amount)))
        session.commit()
    with Session(engine) as session:
        order = session.exec(select(UnifiedOrder)).one()
    assert order.quantity == Decimal(amount)
    assert order.price == Decimal(amount)


@pytest.mark.parametrize("amount", ["0.0000000000000000001", "1234567890123456789.5"])
def test_money_that_does_not_fit_is_refused_not_rounded(engine: Engine, amount: str) -> None:
    with Session(engine) as session:
        session.add(make_run())
        session.commit()
        session.add(make_order("O-1", quantity=Decimal(amount)))
        with pytest.raises(StatementError, match=r"does not fit NUMERIC\(36,18\)"):
            session.commit()


def test_timestamps_are_utc_aware_and_naive_ones_are_refused(engine: Engine) -> None:
    tokyo = timezone(timedelta(hours=9))
    with Session(engine) as session:
        session.add(make_run())
        session.add(make_order("O-1", created_at=datetime(2024, 3, 1, 21, 0, tzinfo=tokyo)))
        session.commit()
    with Session(engine) as session:
        order = session.exec(select(UnifiedOrder)).one()
    assert order.created_at == T0
    assert order.created_at.utcoffset() == timedelta(0)
    with Session(engine) as session:
        session.add(make_order("O-2", created_at=datetime(2024, 3, 1)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()


def test_client_order_id_is_unique_per_run(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(make_run())
        session.add(make_order("O-1"))
        session.commit()
        session.add(make_order("O-1", operation_id="op-other"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_constraints_reject_unknown_status_and_side(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(make_run())
        session.commit()
        session.add(make_order("O-1", side="HOLD"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_json_columns_round_trip(engine: Engine) -> None:
    fills = [{"trade_id": "T-1", "last_qty": "0.5", "last_px": "42000.10"}]
    with Session(engine) as session:
        session.add(make_run())
        session.add(
            make_order(
                "O-1",
                fills=fills,
                commissions={"USDT": "0.021"},
                route={"venue": "BINANCE", "why": "best price"},
                tags=["entry"],
            )
        )
        session.commit()
    with Session(engine) as session:
        order = session.exec(select(UnifiedOrder)).one()
    assert order.fills == fills
    assert order.commissions == {"USDT": "0.021"}
    assert order.route == {"venue": "BINANCE", "why": "best price"}


def test_unmigrated_database_is_refused_with_the_command_to_run(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        with pytest.raises(
            SchemaOutOfDateError, match=r"has no liveexec schema.*liveexec db upgrade"
        ):
            require_current_schema(engine)
        upgrade(db_url, "0001")
        with pytest.raises(SchemaOutOfDateError, match="at revision 0001, behind"):
            require_current_schema(engine)
        upgrade(db_url)
        require_current_schema(engine)
    finally:
        engine.dispose()


def test_upgrading_again_keeps_recorded_rows(engine: Engine, db_url: str) -> None:
    with Session(engine) as session:
        session.add(make_run())
        session.add(make_order("O-1"))
        session.commit()
    upgrade(db_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM unified_orders")).scalar_one() == 1


def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    engine = create_db_engine("postgresql://trader:hunter2@127.0.0.1:9/liveexec")
    with pytest.raises(DatabaseUnavailableError) as exc:
        require_current_schema(engine)
    assert "cannot connect to database postgresql+psycopg://trader:***@127.0.0.1:9/liveexec" in str(
        exc.value
    )
    assert "hunter2" not in str(exc.value)


def test_sqlite_default_uses_wal(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    engine.dispose()


def test_error_text_is_the_drivers_line_without_statement_parameters_or_link(
    db_url: str,
) -> None:
    """What runs rows and messages say of a database error: SQLAlchemy's own text carries the
    statement, its parameters (order data) and a documentation link."""
    upgrade(db_url)
    engine = create_db_engine(db_url, create=False)
    try:
        with pytest.raises(StatementError) as failure, engine.begin() as connection:
            connection.execute(text("INSERT INTO no_such_table VALUES (:a)"), {"a": "order-42"})
    finally:
        engine.dispose()
    raw = str(failure.value)
    assert "sqlalche.me" in raw and "order-42" in raw  # what must not reach people
    line = error_text(failure.value)
    assert "no_such_table" in line
    for noise in ("sqlalche.me", "order-42", "[SQL:", "\n"):
        assert noise not in line
    assert error_text(ValueError("two\nlines")) == "two\nlines"  # others are kept whole
