"""A paper node SIGKILLed with a position open and started again (restart-resume): the
resumed node's risk gate counts the position it starts with (restored into NautilusTrader's
cache before the node starts), so EMACross's closing order reduces it and the entry after it
stays within ``max_position_qty``. The expectation is independent of the gate's output:
EMACross never holds or works more than its trade size on one side, so a limit equal to the
trade size denies nothing, whether the run was interrupted or not."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from liveexec.config import load_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from tests.live.test_paper_resume import TRADER, _finish, _paper, _reach

pytestmark = pytest.mark.slow


def _config(tmp_path: Path) -> Path:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["trader_id"] = TRADER
    raw["mode"] = "paper"
    raw["strategies"][0]["config"]["request_bars"] = True
    raw["data"]["catalog"]["path"] = str(tmp_path / "catalog")
    raw["data"]["start"] = "2022-01-05T00:00:00Z"
    raw["data"]["end"] = "2022-01-06T00:00:00Z"
    raw["paper"] = {"min_gap_ms": 2, "wait_for_node": True}
    trade_size = raw["strategies"][0]["config"]["trade_size"]
    raw["risk"] = {
        "max_order_submit_rate": "100000/00:00:01",  # wall-clock throttling left out
        "strategies": {"EMACross-000": {"max_position_qty": trade_size}},
    }
    raw["logging"] = {"level": "ERROR"}
    path = tmp_path / "resume_books.yaml"
    path.write_text(yaml.safe_dump(raw))
    prepare_demo_catalog(load_config(path))
    return path


def test_a_resumed_node_counts_the_position_it_starts_with(tmp_path: Path, sqlite_url: str) -> None:
    upgrade(sqlite_url)
    config = _config(tmp_path)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        node = _paper(config, sqlite_url)
        deadline = 600
        position = 300
        while True:  # kill once a committed checkpoint has a position open
            reached = _reach(engine, node, position)
            with engine.connect() as connection:
                open_positions = connection.execute(
                    text("SELECT count(*) FROM unified_positions WHERE status = 'OPEN'")
                ).scalar()
            if open_positions:
                node.send_signal(signal.SIGKILL)
                node.wait()
                break
            position = reached + 1
            assert position < deadline, "no position open in the first bars"
        _finish(_paper(config, sqlite_url))
        with engine.connect() as connection:
            status, resumes = connection.execute(
                text("SELECT status, resumes FROM runs WHERE trader_id = :t"), {"t": TRADER}
            ).one()
            decisions = connection.execute(
                text(
                    "SELECT risk_decision, risk_reason, count(*) FROM unified_orders "
                    "GROUP BY risk_decision, risk_reason"
                )
            ).all()
            orders = connection.execute(text("SELECT count(*) FROM unified_orders")).scalar()
        assert (status, resumes) == ("completed", 1)
        assert orders is not None and orders > 4
        assert [(d, r) for d, r, _ in decisions] == [("approved", None)], decisions
    finally:
        engine.dispose()
