"""Replay-safe writes: the groups of a real run written in any order, any number of times,
give exactly the tables of the straight run (newest wins by the event's sequence in the run)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, Engine, Table, insert

from liveexec.backtesting import backtest
from liveexec.config import parse_config
from liveexec.db import (
    AccountBalance,
    OrderEvent,
    Run,
    UnifiedOrder,
    UnifiedPosition,
    create_db_engine,
    upgrade,
)
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.recording import RecordBuffer
from liveexec.recording._writer import Batch, write_batch
from liveexec.runs import read_table

pytestmark = pytest.mark.slow

Group = list[tuple[str, dict[str, Any]]]
TABLES: dict[str, Table] = {
    "orders": UnifiedOrder.__table__,  # type: ignore[attr-defined]
    "events": OrderEvent.__table__,  # type: ignore[attr-defined]
    "positions": UnifiedPosition.__table__,  # type: ignore[attr-defined]
    "balances": AccountBalance.__table__,  # type: ignore[attr-defined]
}
# Columns that name a write rather than what was written.
INCIDENTAL = {"id", "run_id", "operation_id", "event_id", "recorded_at"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Group], dict[str, Any]]:
    """A real NETTING run (EMA cross on six hours of BTC bars): the groups its recorder sent,
    and the tables it left."""
    root = tmp_path_factory.mktemp("replay")
    raw = yaml.safe_load((EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text())
    raw["data"]["catalog"]["path"] = str(root / "catalog")
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-03T06:00:00Z"
    raw["logging"] = {"level": "ERROR"}
    cfg = parse_config(raw)
    prepare_demo_catalog(cfg)
    url = f"sqlite:///{root / 'straight.db'}"
    upgrade(url)
    groups: list[Group] = []
    original = RecordBuffer.submit_group

    def capture(self: RecordBuffer, rows: Any) -> None:
        groups.append([(kind, dict(row)) for kind, row in rows])
        original(self, rows)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RecordBuffer, "submit_group", capture)
        result = backtest(cfg, database_url=url)
    assert result.orders.height > 20 and result.positions.height > 5
    assert len(groups) >= 1
    engine = create_db_engine(url)
    try:
        straight = {name: tables(engine, name, result.run_id) for name in TABLES}
    finally:
        engine.dispose()
    return split(groups), straight


def split(groups: list[Group], size: int = 12) -> list[Group]:
    """Smaller groups than the recorder's (its group here is the whole short run), so that the
    permutations reorder states of the same order, position and account."""
    out: list[Group] = []
    for group in groups:
        events = [item for item in group if item[0] == "event"]
        others = [item for item in group if item[0] != "event"]
        out.extend(events[i : i + size] for i in range(0, len(events), size))
        # Each state row alone, so that older and newer states of one key arrive separately.
        out.extend([item] for item in others)
    return out


def tables(engine: Engine, name: str, run_id: str) -> pl.DataFrame:
    frame = read_table(engine, TABLES[name], run_id=run_id)
    frame = frame.drop([c for c in frame.columns if c in INCIDENTAL])
    # JSON columns come back as each database's JSON text: compare what they say.
    documents = [
        c.name
        for c in TABLES[name].columns
        if isinstance(c.type, JSON) or isinstance(getattr(c.type, "impl", None), JSON)
    ]
    frame = frame.with_columns(
        pl.col(column).map_elements(canonical_json, return_dtype=pl.String) for column in documents
    )
    return frame.sort(frame.columns)


def canonical_json(text: str | None) -> str | None:
    return None if text is None else json.dumps(json.loads(text), sort_keys=True)


def remapped(group: Group, run_id: str) -> Group:
    """The same rows for another run id (keys that embed the run id follow it)."""
    out: Group = []
    for kind, row in group:
        copy = dict(row, run_id=run_id)
        if "operation_id" in copy:
            copy["operation_id"] = str(uuid.uuid5(uuid.UUID(run_id), copy["client_order_id"]))
        if kind == "event":
            copy["event_id"] = str(uuid.uuid5(uuid.UUID(run_id), row["event_id"]))
        out.append((kind, copy))
    return out


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def replay_db(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url: str = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "postgres_url"
    )
    upgrade(url)
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_order_with_repeats_gives_the_straight_tables(
    data: st.DataObject,
    recorded: tuple[list[Group], dict[str, Any]],
    replay_db: Engine,
) -> None:
    groups, straight = recorded
    order = data.draw(st.permutations(range(len(groups))))
    repeats = data.draw(st.lists(st.sampled_from(range(len(groups))), max_size=len(groups)))
    sequence = list(order)
    for index in repeats:  # a retried batch, arriving again later
        sequence.insert(data.draw(st.integers(0, len(sequence))), index)
    run_id = str(uuid.uuid4())
    with replay_db.begin() as connection:
        connection.execute(
            insert(Run.__table__),  # type: ignore[attr-defined]
            {
                "run_id": run_id,
                "trader_id": "TRADER-001",
                "mode": "backtest",
                "config_id": "replay",
                "config": {},
                "liveexec_version": "test",
                "nautilus_version": "test",
                "started_at": datetime.now(UTC),
                "status": "completed",
            },
        )
    for index in sequence:
        batch = Batch()
        for kind, row in remapped(groups[index], run_id):
            getattr(batch, f"add_{kind}")(row)
        write_batch(replay_db, batch)
    for name in TABLES:
        assert tables(replay_db, name, run_id).equals(straight[name]), name


def test_the_straight_tables_are_what_the_recorder_wrote(
    recorded: tuple[list[Group], dict[str, Any]],
) -> None:
    groups, straight = recorded
    kinds = [kind for group in groups for kind, _row in group]
    assert kinds.count("event") == straight["events"].height
    assert straight["orders"].height > 0 and straight["balances"].height > 0
