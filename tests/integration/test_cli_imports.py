"""`liveexec --help`, every command's --help and the cheap commands do not import NautilusTrader,
pandas, plotly, polars or SQLAlchemy (seconds of imports): each command imports what it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import get_args

from typer.testing import CliRunner

import liveexec.data
from liveexec.cli import _data, app

HEAVY = ("nautilus_trader", "pandas", "plotly", "polars", "pyarrow", "sqlalchemy")

# Runs the command line as `python -m liveexec ARGS` does (liveexec.__main__.main), once per
# argument list, in one interpreter; then prints the heavy modules that were imported.
_RUN_AND_LIST_IMPORTS = """
import contextlib, io, json, sys
from liveexec.__main__ import main

argvs, watched = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
codes = []
for args in argvs:
    sys.argv = ["liveexec", *args]
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main()
        except SystemExit as exc:
            codes.append(exc.code)
        else:
            codes.append(0)
heavy = sorted({m.split(".")[0] for m in sys.modules} & watched)
print(json.dumps({"codes": codes, "heavy": heavy}))
"""

# Every command and group of the command line, as the argument lists that name them.
_COMMAND_PATHS = """
import json, typer.main
from liveexec.cli import app

def walk(command, path):
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, [*path, name])

print(json.dumps(list(walk(typer.main.get_command(app), []))))
"""


def _run(argvs: list[list[str]]) -> dict[str, list[object]]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST_IMPORTS, json.dumps(argvs), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[object]] = json.loads(done.stdout)
    return result


def _command_paths() -> list[list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _COMMAND_PATHS], capture_output=True, text=True, check=True
    )
    paths: list[list[str]] = json.loads(done.stdout)
    return paths


def test_help_imports_none_of_nautilus_pandas_polars_sqlalchemy() -> None:
    result = _run([["--help"], ["backtest", "--help"]])
    assert result == {"codes": [0, 0], "heavy": []}


def test_every_commands_help_is_cheap() -> None:
    paths = _command_paths()
    # Every command is found (a sample: the walk reaches nested groups).
    for expected in (["backtest"], ["data", "import"], ["promotions", "verify"], ["stop"]):
        assert expected in paths
    helps = [[*path, "--help"] for path in paths]
    result = _run(helps)
    assert result == {"codes": [0] * len(helps), "heavy": []}


def test_cheap_commands_stay_cheap() -> None:
    result = _run([["version"], ["config", "schema"], ["config", "reference"]])
    assert result == {"codes": [0, 0, 0], "heavy": []}


def test_a_command_imports_what_it_runs() -> None:
    # The checks above can fail: running a command that needs NautilusTrader imports it (here
    # `data import` with no file: its readers are imported, then it exits 2 with its usage).
    result = _run([["data", "import", "missing.yaml", "--instrument", "BTCUSDT-PERP.SIM"]])
    assert result["codes"] == [2]
    assert "nautilus_trader" in result["heavy"]


def test_the_data_options_are_the_presets() -> None:
    assert get_args(_data.PresetName) == tuple(liveexec.data.PRESETS)


def test_data_import_help_lists_every_preset() -> None:
    shown = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["data", "import", "--help"])
    assert shown.exit_code == 0, shown.output
    assert "Presets (--preset):" in shown.output
    for preset in liveexec.data.PRESETS.values():
        assert f"{preset.name} ({preset.kind}): {preset.summary[:60]}" in shown.output
    # The group's listing shows the command's first paragraph only, as before.
    group = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["data", "--help"])
    assert "Check a whole market data file" in group.output
    assert "Presets" not in group.output


# Put on PYTHONPATH as sitecustomize: a command's own import of liveexec.runs holds until the
# test has pressed Ctrl-C, so the interrupt lands inside that import every time.
_HOLD_THE_COMMANDS_IMPORT = """
import importlib.abc, os, sys, time

class _Hold(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "liveexec.runs":
            cli = sys.modules.get("liveexec.cli._app")
            with open(os.environ["READY_FILE"], "w") as ready:
                ready.write("parsed" if cli is not None and hasattr(cli, "main") else "early")
            time.sleep(60)
        return None

sys.meta_path.insert(0, _Hold())
"""


def test_ctrl_c_while_a_command_imports_exits_130(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(_HOLD_THE_COMMANDS_IMPORT)
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-m", "liveexec", "runs", "list", "--db", f"sqlite:///{tmp_path}/x.db"],
        env={**os.environ, "PYTHONPATH": str(tmp_path), "READY_FILE": str(ready)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ready.exists(), "the command's import was never reached"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert ready.read_text() == "parsed", "liveexec.runs was imported before the command ran"
    assert child.returncode == 130, err
    assert err.strip() == "interrupted", err
    assert "Traceback" not in out + err
