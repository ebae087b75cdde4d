"""`liveexec runs` and `liveexec compare` as a quant and a script use them: filters, prefixes,
machine-readable output, deletions that keep the promotion record's evidence."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from liveexec.backtesting import backtest
from liveexec.cli import app
from liveexec.config import parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.promotion import promote
from tests.analysis.test_promotion import quoter

pytestmark = pytest.mark.slow
cli = CliRunner(env={"COLUMNS": "80"})  # narrow: piped output must not wrap anyway


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs-cli") / "catalog"
    prepare_demo_catalog(parse_config(quoter(root)))
    return root


def _invoke(*args: str) -> tuple[int, str]:
    done = cli.invoke(app, list(args))
    return done.exit_code, done.output


def test_list_show_delete_prune_and_compare(catalog: Path, sqlite_url: str, approver: str) -> None:
    upgrade(sqlite_url)
    first = backtest(parse_config(quoter(catalog)), database_url=sqlite_url)
    raw = quoter(catalog)
    raw["strategies"][0]["config"]["tob_offset_ticks"] = 2
    second = backtest(parse_config(raw), database_url=sqlite_url)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        assert promote(engine, parse_config(quoter(catalog)), first.run_id).approved
        with engine.begin() as connection:  # a run that died a month ago
            connection.execute(
                text(
                    "INSERT INTO runs (run_id, trader_id, mode, config_id, config, "
                    "liveexec_version, nautilus_version, started_at, status) VALUES "
                    "(:r, 'TRADER-001', 'backtest', 'c', '{}', '0', '0', :t, 'failed')"
                ),
                {"r": str(uuid.uuid4()), "t": datetime.now(UTC) - timedelta(days=40)},
            )
    finally:
        engine.dispose()

    code, output = _invoke("runs", "list", "--db", sqlite_url, "--format", "json")
    assert code == 0, output
    listed = json.loads(output)
    assert {row["run_id"] for row in listed} >= {first.run_id, second.run_id}
    ours = {row["run_id"]: row for row in listed}
    assert ours[second.run_id]["strategy"] == "SimpleQuoterStrategy"
    assert "tob_offset_ticks=2" in ours[second.run_id]["parameters"]
    assert Decimal(ours[first.run_id]["pnl"]) == first.statistics.total_pnl  # exact text

    code, output = _invoke("runs", "list", "--db", sqlite_url, "--mode", "paper")
    assert code == 0 and first.run_id[:8] not in output
    code, output = _invoke("runs", "list", "--db", sqlite_url, "--status", "failed")
    assert code == 0 and first.run_id[:8] not in output and "failed" in output
    code, output = _invoke("runs", "list", "--db", sqlite_url, "--since", "yesterday")
    assert code == 2 and "--since" in output
    # Piped: one line per run, however narrow the terminal said it was.
    code, output = _invoke("runs", "list", "--db", sqlite_url)
    line = next(row for row in output.splitlines() if second.run_id[:8] in row)
    assert "SimpleQuoterStrategy" in line and "BTCUSDT.BINANCE" in line

    code, output = _invoke("runs", "show", first.run_id[:8], "--db", sqlite_url)
    assert code == 0 and first.run_id in output
    code, output = _invoke("runs", "show", "zzzz", "--db", sqlite_url)
    assert code == 2 and "no run id starts with it" in output

    code, output = _invoke("compare", first.run_id[:8], second.run_id[:8], "--db", sqlite_url)
    assert code == 0 and "Sharpe" in output
    code, output = _invoke(
        "compare", first.run_id, second.run_id, "--db", sqlite_url, "--format", "csv"
    )
    assert code == 0 and len(output.strip().splitlines()) == 3  # header and two runs

    # Deletion: the promotion's evidence is kept; a script must say --yes.
    code, output = _invoke("runs", "delete", first.run_id[:8], "--db", sqlite_url, "--yes")
    assert code == 2 and "is evidence of promotion" in output
    code, output = _invoke("runs", "delete", second.run_id[:8], "--db", sqlite_url)
    assert code == 2 and "confirm with --yes" in output
    code, output = _invoke("runs", "delete", second.run_id[:8], "--db", sqlite_url, "--yes")
    assert code == 0 and "deleted 1 run" in output
    code, output = _invoke("runs", "prune", "--older-than", "30d", "--db", sqlite_url, "--yes")
    assert code == 0 and "deleted 1 run" in output
    engine = create_db_engine(sqlite_url, create=False)
    try:
        with engine.connect() as connection:
            left = connection.execute(text("SELECT run_id FROM runs")).scalars().all()
            orders = connection.execute(
                text("SELECT count(*) FROM unified_orders WHERE run_id = :r"),
                {"r": second.run_id},
            ).scalar_one()
    finally:
        engine.dispose()
    assert left == [first.run_id]
    assert orders == 0  # what the run recorded went with it
