"""Warnings kept out of the way (issue 20 §5): a strategy that warns on every bar, a paper node's
"Reconciliation deactivated", a notebook kernel's "running over TCP without encryption" reach
the run's log file and its summary, not the terminal or the notebook cell."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveexec.examples import EXAMPLES_DIR

pytestmark = pytest.mark.slow

LIVEEXEC = Path(sys.executable).parent / "liveexec"
TRADES = (
    Path(__file__).resolve().parents[2] / "liveexec" / "data" / "demo" / "btcusdt-trades.parquet"
)
SINGLE_PRICE = "Bar OHLC is single price; implies no market information"


def _tick_bars_config(tmp_path: Path) -> Path:
    """NautilusTrader's EMACross on one-trade bars of the bundled Binance trades: every bar has
    one price, and the strategy warns on each of them."""
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml").read_text()
    )
    raw["strategies"] = [
        {
            "path": "nautilus_trader.examples.strategies.ema_cross:EMACross",
            "config_path": "nautilus_trader.examples.strategies.ema_cross:EMACrossConfig",
            "config": {
                "instrument_id": "BTCUSDT.BINANCE",
                "bar_type": "BTCUSDT.BINANCE-1-TICK-LAST-INTERNAL",
                "trade_size": "0.010000",
                "request_bars": False,
            },
        }
    ]
    raw["data"] = {
        "catalog": {"path": str(tmp_path / "catalog")},
        "streams": [{"kind": "trades", "instrument_id": "BTCUSDT.BINANCE"}],
    }
    path = tmp_path / "tick_bars.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LIVEEXEC), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LIVEEXEC_HOME": str(tmp_path / "home"),
        "COLUMNS": "80",
        "LIVEEXEC_DATABASE_URL": f"sqlite:///{tmp_path / 'runs.db'}",
    }


def test_a_warning_on_every_bar_is_counted_not_printed(tmp_path: Path, env: dict[str, str]) -> None:
    config = _tick_bars_config(tmp_path)
    assert _run(["db", "upgrade"], env).returncode == 0
    done = _run(
        ["data", "import", str(config), "--instrument", "BTCUSDT.BINANCE", "--trades", str(TRADES)],
        env,
    )
    assert done.returncode == 0, done.stderr

    done = _run(["backtest", str(config), "--no-progress"], env)
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr
    assert "[WARN]" not in printed
    assert printed.count(SINGLE_PRICE) <= 1  # in the summary's row at most, never a log line
    # The summary counts them by kind and names the file that holds them.
    summary = " ".join(done.stdout.replace("│", " ").split())
    found = re.search(r"warnings\s+([\d,]+) \(([\d,]+) 'Bar OHLC is single price", summary)
    assert found is not None, done.stdout
    total, single = (int(n.replace(",", "")) for n in found.groups())
    run_id = re.search(r"run id: (\S+)", done.stdout)
    assert run_id is not None
    log = Path(env["LIVEEXEC_HOME"]) / "logs" / f"{run_id[1]}.log"
    assert "; see /" in summary and log.is_file()
    lines = log.read_text().splitlines()
    assert single == sum(SINGLE_PRICE in line for line in lines) > 1_000
    assert total == sum("[WARN]" in line for line in lines)

    # `logging.level: WARNING` still prints them, as it says.
    done = _run(["backtest", str(config), "--no-progress", "--set", "logging.level=WARNING"], env)
    assert done.returncode == 0, done.stderr
    printed_lines = (done.stdout + done.stderr).splitlines()
    assert sum(SINGLE_PRICE in line and "[WARN]" in line for line in printed_lines) == single


_PAPER_IN_A_CHILD = """
import json, sys, threading
import liveexec
from liveexec.config import load_config

cfg = load_config(sys.argv[1], overrides=["mode=paper"])
found = {}
# From any thread but the main one (as from a notebook kernel) the node runs in a child process.
worker = threading.Thread(
    target=lambda: found.update(result=liveexec.paper(cfg, database_url=sys.argv[2]))
)
worker.start()
worker.join()
result = found["result"]
print(json.dumps({"kinds": result.warnings.kinds, "html": result._repr_html_()}))
"""


def test_a_paper_node_in_a_child_keeps_its_warnings_out_of_the_cell(
    tmp_path: Path, env: dict[str, str]
) -> None:
    from liveexec.config import load_config  # noqa: PLC0415
    from liveexec.demo import prepare_demo_catalog  # noqa: PLC0415

    quoter = EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml"
    env["LIVEEXEC_CATALOG"] = str(tmp_path / "catalog")
    os.environ["LIVEEXEC_CATALOG"] = env["LIVEEXEC_CATALOG"]
    try:
        prepare_demo_catalog(load_config(quoter))
    finally:
        del os.environ["LIVEEXEC_CATALOG"]
    assert _run(["db", "upgrade"], env).returncode == 0
    done = subprocess.run(
        [sys.executable, "-c", _PAPER_IN_A_CHILD, str(quoter), env["LIVEEXEC_DATABASE_URL"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Reconciliation deactivated" not in done.stderr
    *printed, last = done.stdout.splitlines()
    assert "Reconciliation deactivated" not in "\n".join(printed)
    found = json.loads(last)
    assert ["Reconciliation deactivated", 1] in found["kinds"]
    assert "Reconciliation deactivated" in found["html"]


_NOTEBOOK = """\
# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
x = 1

# %%
print(x + 1)
"""


def test_notebook_kernels_do_not_warn_on_the_terminal(tmp_path: Path) -> None:
    """papermill's kernel inherits the terminal: over TCP it warns there for every notebook."""
    notebook = tmp_path / "tiny.py"
    notebook.write_text(_NOTEBOOK)
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from liveexec.pipeline._execute import executed_text, run_notebook\n"
        "done = run_notebook(Path(sys.argv[1]), Path(sys.argv[2]), {'x': 41})\n"
        "print(executed_text(done.output))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(notebook), str(tmp_path / "out.ipynb")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "42" in done.stdout
    assert "without encryption" not in done.stderr + done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ipynb", "tiny.py"]
