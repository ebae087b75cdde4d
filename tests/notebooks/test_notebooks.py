"""The notebooks, executed by papermill in a real kernel on the bundled data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.pipeline import NOTEBOOKS_DIR, NotebookFailedError, executed_text, run_notebook

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """The market maker example (real Binance quotes) as a config file, its catalog, a DB."""
    root = tmp_path_factory.mktemp("notebooks")
    raw = yaml.safe_load((EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml").read_text())
    raw["data"]["catalog"]["path"] = str(root / "catalog")
    # INFO in the file (the default is WARNING): the log tests below read the strategy's lines.
    raw["logging"] = {"level": "WARNING", "file_level": "INFO", "directory": str(root / "logs")}
    prepare_demo_catalog(parse_config(raw))
    config = root / "quoter.yaml"
    config.write_text(yaml.safe_dump(raw))
    url = f"sqlite:///{root / 'runs.db'}"
    upgrade(url)
    return {"root": root, "config": str(config), "url": url}


def images(path: Path) -> int:
    notebook = nbformat.read(path, as_version=4)
    return sum(
        1
        for cell in notebook.cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )


def test_explore(workspace: dict[str, Path | str]) -> None:
    out = Path(workspace["root"]) / "01.ipynb"
    run_notebook(NOTEBOOKS_DIR / "01_explore.py", out, {"config": workspace["config"]})
    text = executed_text(out)
    assert "BTCUSDT.BINANCE" in text and "451" in text  # the bundled file's 451 quotes
    assert images(out) == 1  # bid/ask and spread of the one stream
    assert not ANSI.search(text)


def test_backtest(workspace: dict[str, Path | str]) -> None:
    out = Path(workspace["root"]) / "02.ipynb"
    run_notebook(
        NOTEBOOKS_DIR / "02_backtest.py",
        out,
        {"config": workspace["config"], "database_url": workspace["url"]},
    )
    text = executed_text(out)
    assert not ANSI.search(text), "ANSI escape codes in the notebook"
    # Nothing from NautilusTrader at or above WARNING, and no liveexec component complains.
    assert "[WARN]" not in text and "Liveexec" not in text
    # The result's HTML view: statistics in the account's currency, money in its precision.
    assert "<h5>Statistics (USDT)</h5>" in text
    assert "-22.74421080 USDT" in text  # total PnL of this run (NautilusTrader's own figure)
    assert "40 orders, 38 fills, 1 positions" in text
    assert "100.0% of the data simulated" in text  # the progress bar's last state
    assert images(out) == 2  # equity/drawdown, trades on the price
    logs = list((Path(workspace["root"]) / "logs").glob("*-*-*-*-*.log"))
    assert len(logs) == 1
    log = logs[0].read_text()
    assert "SimpleQuoterStrategy" in log and "[INFO]" in log and not ANSI.search(log)


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"orders_shwon": 3}, "orders_shwon: unknown parameter"),
        ({"orders_shown": "many"}, "orders_shown"),
        ({"overrides": ["venues.0.starting_balances=[]"]}, "venues[0].starting_balances"),
        ({"config": "/nonexistent.yaml"}, "/nonexistent.yaml: no such config file"),
    ],
)
def test_bad_parameter_fails_in_the_first_cell(
    workspace: dict[str, Path | str], parameters: dict[str, object], named: str
) -> None:
    out = Path(workspace["root"]) / "bad.ipynb"
    with pytest.raises(NotebookFailedError, match=re.escape(named)):
        run_notebook(
            NOTEBOOKS_DIR / "02_backtest.py",
            out,
            {"config": workspace["config"], "database_url": workspace["url"], **parameters},
        )
    notebook = nbformat.read(out, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    failed = [
        i for i, c in enumerate(code) if any(o.get("output_type") == "error" for o in c.outputs)
    ]
    # parameters, papermill's injected parameters, then the first cell of the notebook itself.
    assert failed == [2]
    assert "ConfigError" in json.dumps(code[2].outputs)


SCRIPT = """
import sys, yaml
from liveexec.backtesting import backtest
from liveexec.config import parse_config
raw = yaml.safe_load(open(sys.argv[1]))
raw["logging"]["directory"] = sys.argv[3]
cfg = parse_config(raw)
for _ in range(2):
    print(backtest(cfg, database_url=sys.argv[2]).log_file)
# What the process's own file holds while the process lives (it is removed at exit).
[process_log] = __import__("pathlib").Path(sys.argv[3]).glob("nautilus-*.log")
open(sys.argv[4], "wb").write(process_log.read_bytes())
"""


def test_each_run_keeps_its_own_log(workspace: dict[str, Path | str], tmp_path: Path) -> None:
    """Two runs in one process (as in a kernel): NautilusTrader's logger is set up once, yet
    each run gets its own file holding its lines only. In a fresh process, because the logger
    of this one may have been set up by another test."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(workspace["config"]),
            str(workspace["url"]),
            str(tmp_path),
            str(tmp_path / "process-log.copy"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    first, second = (Path(line) for line in done.stdout.split())
    assert first != second and first.parent == second.parent == tmp_path
    one, two = first.read_text(), second.read_text()
    for text in (one, two):  # each file holds exactly one run: its strategy started once
        assert text.count("SimpleQuoterStrategy: RUNNING") == 1, text[:2000]
    # Together they are what the process's file held; that file left with the process.
    assert (tmp_path / "process-log.copy").read_text() == one + two
    assert not list(tmp_path.glob("nautilus-*.log"))
