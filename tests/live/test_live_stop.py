"""``liveexec stop TRADER_ID``: a real paper node in its own process, stopped through the
database, its open orders and positions handled per the config's ``stop`` section; and a second
node for the same trader id refused while it runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.config import load_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import lease_owner

# The bundled demo data in $LIVEEXEC_CATALOG, copied (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("demo_catalog")

ROOT = Path(__file__).resolve().parents[2]
LIVEEXEC = str(Path(sys.executable).with_name("liveexec"))
TRADER = "STOPPER-001"


def _config_file(tmp_path: Path, open_orders: str, flatten: bool) -> Path:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["trader_id"] = TRADER
    raw["mode"] = "paper"
    raw["strategies"] = [
        {
            "path": "tests.live.resting_strategy:RestingOrder",
            "config_path": "tests.live.resting_strategy:RestingOrderConfig",
            "config": {
                "instrument_id": "BTCUSDT-PERP.SIM",
                "bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
                "trade_size": "0.100",
            },
        }
    ]
    raw["data"]["start"] = "2022-01-05T00:00:00Z"
    raw["data"]["end"] = "2022-01-06T00:00:00Z"
    # 1,441 bars 50 ms apart: about a minute of replay, far more than the test needs.
    raw["paper"] = {"min_gap_ms": 50}
    raw["stop"] = {"open_orders": open_orders, "flatten_positions": flatten}
    raw["logging"] = {"level": "ERROR"}
    path = tmp_path / f"stop_{open_orders}_{flatten}.yaml"
    path.write_text(yaml.safe_dump(raw))
    prepare_demo_catalog(load_config(path))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _start_paper(config: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [LIVEEXEC, "paper", str(config), "--db", url, "--no-progress"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_orders(engine: Engine, node: subprocess.Popen[str]) -> str:
    """The run id, once the node's two orders are recorded (the limit order resting)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert node.poll() is None, node.communicate()
        owner = lease_owner(engine, TRADER)
        if owner is not None and owner.run_id is not None:
            with engine.connect() as connection:
                statuses = connection.execute(
                    text("SELECT order_type, status FROM unified_orders WHERE run_id = :r"),
                    {"r": owner.run_id},
                ).all()
            if ("LIMIT", "ACCEPTED") in {tuple(row) for row in statuses} and len(statuses) == 2:
                return owner.run_id
        time.sleep(0.1)
    raise AssertionError("the paper node did not place its orders in time")


def _stop(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LIVEEXEC, "stop", TRADER, "--db", url, "--timeout", "30"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _outcome(engine: Engine, run_id: str) -> tuple[str, str, str, str]:
    with engine.connect() as connection:
        status, error = connection.execute(
            text("SELECT status, error FROM runs WHERE run_id = :r"), {"r": run_id}
        ).one()
        (limit_status,) = connection.execute(
            text("SELECT status FROM unified_orders WHERE run_id = :r AND order_type = 'LIMIT'"),
            {"r": run_id},
        ).one()
        positions = connection.execute(
            text("SELECT status FROM unified_positions WHERE run_id = :r"), {"r": run_id}
        ).scalars()
        return status, error or "", limit_status, ",".join(sorted(positions))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("open_orders", "flatten", "limit_status", "positions"),
    [("cancel", True, "CANCELED", "CLOSED"), ("leave", False, "ACCEPTED", "OPEN")],
)
def test_stop_request_stops_a_paper_node_per_its_policy(
    tmp_path: Path,
    db_url: str,
    open_orders: str,
    flatten: bool,
    limit_status: str,
    positions: str,
) -> None:
    upgrade(db_url)
    config = _config_file(tmp_path, open_orders, flatten)
    engine = create_db_engine(db_url, create=False)
    node = _start_paper(config, db_url)
    try:
        run_id = _wait_for_orders(engine, node)

        # A second node for the same trader id is refused, naming the one running.
        second = subprocess.run(
            [LIVEEXEC, "paper", str(config), "--db", db_url, "--no-progress"],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 1
        refusal = " ".join(second.stderr.split())
        assert f"trader {TRADER} is already running" in refusal
        assert f"pid {node.pid}" in refusal
        assert run_id in refusal

        stopped = _stop(db_url)
        assert stopped.returncode == 0, stopped.stderr
        assert "stop requested" in stopped.stdout
        assert re.search(rf"stopped: run {run_id} is 'completed'", stopped.stdout)
        _, err = node.communicate(timeout=60)
        assert node.returncode == 0, err
        # From the request row to the released lease (the run closed): seen within 0.2 s, then
        # the policy, the node's stop (timeout_post_stop 0.5 s), the flush and the close.
        print(stopped.stdout)  # the measured stop time, for the record
        took = re.search(r"stop took ([\d.]+)s", stopped.stdout)
        assert took is not None
        assert float(took.group(1)) < 3.0
        status, note, limit, position_states = _outcome(engine, run_id)
        assert status == "completed"
        assert note.startswith("stopped on request (pid ")
        assert (limit, position_states) == (limit_status, positions)
        if open_orders == "cancel":
            assert "open orders canceled on RestingOrder-000:BTCUSDT-PERP.SIM" in note
        assert lease_owner(engine, TRADER) is None
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
        engine.dispose()


def test_stop_with_no_running_node_exits_1(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    done = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["stop", "NOBODY-001", "--db", sqlite_url])
    assert done.exit_code == 1
    assert "no paper or live node is running for trader NOBODY-001" in done.output
