"""The recorder of a long-running node rides out database trouble.

PostgreSQL restarted in the middle of a paper run (a private server started by the test; the
shared one is never touched): the run goes on and completes, and afterwards every order and
event is in the tables exactly once and equals a run of the same config without the restart.
And the bounds: a database that stays away longer than the retry bound, or a buffer that stays
full longer than its bound, fails loudly instead of dropping rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from liveexec.config import load_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.recording import ProcessRecordBuffer, RecordBuffer, RecorderError
from liveexec.recording._buffer import is_transient
from liveexec.trading import paper
from tests.integration.test_postgres_outage import PrivateServer, private_postgres
from tests.integration.test_recording_writer import T0, event
from tests.integration.test_sigkill import BARS, check_consistent, count

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
__all__ = ["private_postgres"]  # the fixture, imported for this module's tests

# One day of bars at 5 ms each: the node runs for several seconds, 120 orders.
RUN = [
    "mode=paper",
    "paper.min_gap_ms=5",
    "data.start=2022-01-05T00:00:00Z",
    "data.end=2022-01-06T00:00:00Z",
    "logging.level=ERROR",
    # The kill switch reads the database too and fails closed when it cannot (its own tests):
    # off here, so that this run's orders depend on the recorder's behaviour only.
    "risk.kill_switch.enabled=false",
]


def _orders(url: str, run_id: str) -> list[tuple[Any, ...]]:
    """Each order by its place in the strategy's sequence, with its fills, and its events."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            orders = connection.execute(
                text(
                    "SELECT client_order_id, side, quantity, status, filled_qty, avg_px, "
                    "fills::text FROM unified_orders WHERE run_id = :r"
                ),
                {"r": run_id},
            ).all()
            events = connection.execute(
                text(
                    "SELECT client_order_id, event_type, count(*) FROM order_events "
                    "WHERE run_id = :r GROUP BY client_order_id, event_type"
                ),
                {"r": run_id},
            ).all()
    finally:
        engine.dispose()
    by_order: dict[str, list[tuple[str, int]]] = {}
    for client_order_id, kind, n in events:
        by_order.setdefault(client_order_id, []).append((kind, n))
    rows = [
        (
            int(row[0].rsplit("-", 1)[1]),
            *row[1:6],
            _without_trade_ids(row[6]),
            sorted(by_order.get(row[0], [])),
        )
        for row in orders
    ]
    return sorted(rows)


def _without_trade_ids(fills: str) -> str:
    """Trade ids are generated per run (see NAUTILUS_NOTES): everything else must agree."""
    import json  # noqa: PLC0415

    return json.dumps(
        [{k: v for k, v in fill.items() if k != "trade_id"} for fill in json.loads(fills)]
    )


def test_postgres_restart_mid_paper_run_loses_and_duplicates_nothing(
    private_postgres: PrivateServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = private_postgres.url
    catalog = tmp_path / "catalog"
    monkeypatch.setenv("LIVEEXEC_CATALOG", str(catalog))
    prepare_demo_catalog(load_config(BARS))
    upgrade(url)
    calm = paper(load_config(BARS, overrides=RUN), database_url=url, subprocess=False)
    assert calm.status == "completed"
    exe = Path(sys.executable).with_name("liveexec")
    sets = [arg for override in RUN for arg in ("--set", override)]
    process = subprocess.Popen(
        [exe, "paper", BARS, "--db", url, "--no-progress", *sets],
        env={**os.environ, "LIVEEXEC_CATALOG": str(catalog)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        already = count(url, "SELECT count(*) FROM order_events")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if count(url, "SELECT count(*) FROM order_events") > already + 20:
                break
            time.sleep(0.02)
        before_restart = count(url, "SELECT count(*) FROM order_events") - already
        private_postgres.stop("immediate")  # connections dropped mid-write, no clean shutdown
        time.sleep(2.0)  # the node trades on; the writer retries
        assert process.poll() is None, "the run must still be going while the server is down"
        private_postgres.start()
        _out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert before_restart > 0
    runs = _runs(url)
    assert [status for _, status in runs] == ["completed", "completed"]
    restarted = runs[1][0]
    after = count(url, f"SELECT count(*) FROM order_events WHERE run_id = '{restarted}'")
    assert after > before_restart, "the restart must fall inside the run"
    # Exactly once: no duplicate events, every event with its order row, fills = fill events.
    check_consistent(url)
    assert _orders(url, restarted) == _orders(url, calm.run_id)


def _runs(url: str) -> list[tuple[str, str]]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return [
                (str(row[0]), str(row[1]))
                for row in connection.execute(
                    text("SELECT run_id, status FROM runs ORDER BY started_at")
                ).all()
            ]
    finally:
        engine.dispose()


def _engine_with_run_row(url: str) -> Any:
    upgrade(url)
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (run_id, trader_id, mode, config_id, config, liveexec_version, "
                "nautilus_version, started_at, status) VALUES ('r1', 'T-1', 'paper', 'c', '{}', "
                "'0', '1', :t, 'running')"
            ),
            {"t": T0},
        )
    return engine


# Both writers: the thread (a buffer of this process) and the process of paper and live nodes.
WRITERS = ["thread", "process"]


def _buffer(writer: str, engine: Any, **bounds: Any) -> RecordBuffer | ProcessRecordBuffer:
    if writer == "thread":
        return RecordBuffer(engine, **bounds)
    buffer = ProcessRecordBuffer(engine.url.render_as_string(hide_password=False), **bounds)
    buffer.wait_ready()
    return buffer


@pytest.mark.parametrize("writer", WRITERS)
def test_a_database_gone_past_the_retry_bound_fails_loudly(
    private_postgres: PrivateServer, writer: str
) -> None:
    engine = _engine_with_run_row(private_postgres.url)
    buffer = _buffer(writer, engine, retry_for_s=1.5, flush_interval_s=0.01)
    try:
        private_postgres.stop("immediate")
        began = time.monotonic()
        buffer.submit("event", event("e1", 1))
        with pytest.raises(RecorderError, match="recording failed"):
            buffer.close()
        assert 1.5 <= time.monotonic() - began < 10
        error = buffer.error
        assert error is not None
        if isinstance(buffer, RecordBuffer):
            assert buffer.stats.retries >= 3  # backoff: several attempts, not one
            assert is_transient(error)
        else:  # the writer process reports the driver's own reason
            assert "connection" in str(error).lower() or "server" in str(error).lower()
    finally:
        engine.dispose()


@pytest.mark.parametrize("writer", WRITERS)
def test_a_buffer_full_past_its_bound_fails_loudly_and_drops_nothing_silently(
    private_postgres: PrivateServer, writer: str
) -> None:
    url = private_postgres.url
    engine = _engine_with_run_row(url)
    buffer = _buffer(writer, engine, capacity=3, full_timeout_s=0.5, retry_for_s=60)
    try:
        private_postgres.stop("immediate")
        for n in range(3):
            buffer.submit("event", event(f"e{n}", n))
        began = time.monotonic()
        with pytest.raises(RecorderError, match=r"recorder buffer full for 0\.5s"):
            buffer.submit("event", event("e3", 3))
        assert 0.5 <= time.monotonic() - began < 2
        assert buffer.pending == 3  # what was taken is kept (and retried), never dropped
        private_postgres.start()
        buffer.close()  # the server is back: the three rows are committed
        assert count(url, "SELECT count(*) FROM order_events") == 3
        assert buffer.stats.retries >= 1
    finally:
        engine.dispose()
