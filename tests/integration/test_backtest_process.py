"""A backtest in a fresh process: ``logging.file_level`` decides what the run's log file holds
(and whether there is one), and a run into SQLite loads neither psycopg nor matplotlib.

The default is WARNING: at INFO NautilusTrader writes every bar, order and fill line a strategy
logs, which costs about a quarter of the CPU time of the example backtest (see
``benchmarks/backtest_speed.py`` and the roadmap). Each case runs in a fresh process: the logger
is set up once per process, by its first node.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR

pytestmark = pytest.mark.slow

SCRIPT = """
import json, sys
import liveexec.cli._app  # what the command line loads
from liveexec.backtesting import backtest
from liveexec.config import parse_config
raw = json.loads(sys.argv[1])
result = backtest(parse_config(raw), database_url=sys.argv[2])
print(json.dumps({"log_file": str(result.log_file) if result.log_file else None,
                  "orders": result.orders.height,
                  "loaded": [m for m in ("psycopg", "matplotlib") if m in sys.modules]}))
"""


@pytest.fixture(scope="module")
def quoter(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    root = tmp_path_factory.mktemp("runlog")
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(root / "catalog")
    prepare_demo_catalog(parse_config(raw))
    url = f"sqlite:///{root / 'runs.db'}"
    upgrade(url)
    return raw, url, root


def run_in_process(raw: dict[str, Any], url: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(raw), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("file_level", ["default", "INFO", "ERROR", None])
def test_file_level_decides_the_log_file(
    quoter: tuple[dict[str, Any], str, Path], file_level: str | None
) -> None:
    base, url, root = quoter
    directory = root / f"logs-{file_level}"
    logging: dict[str, Any] = {"level": "ERROR", "directory": str(directory)}
    if file_level != "default":
        logging["file_level"] = file_level
    result = run_in_process({**base, "logging": logging}, url)
    assert result["orders"] == 40  # the example's run, whatever is logged
    # psycopg is for PostgreSQL, matplotlib for charts: ~0.3 s and ~0.5 s of imports.
    assert result["loaded"] == [], f"a backtest into SQLite loaded {result['loaded']}"
    if file_level is None:
        assert result["log_file"] is None
        assert not list(directory.glob("*.log"))
        return
    log = Path(result["log_file"])
    assert log.parent == directory
    # The process's own file (every run's lines, copied to each run's file) left with it.
    assert sorted(directory.glob("*.log")) == [log]
    text = log.read_text()
    levels = {line.split(" ", 2)[1] for line in text.splitlines() if line.strip()}
    if file_level == "INFO":
        # Every line of the strategy: its state changes, its orders.
        assert "[INFO]" in levels
        assert "SimpleQuoterStrategy: RUNNING" in text
        assert "OrderFilled" in text
    elif file_level == "ERROR":
        assert levels <= {"[ERROR]"}
    else:  # the default: WARNING and above only (this run warns about nothing)
        assert levels <= {"[WARN]", "[ERROR]"}
        assert "SimpleQuoterStrategy: RUNNING" not in text
