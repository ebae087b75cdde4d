from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.config import config_json_schema, load_config
from liveexec.data import DEMO_DATA_DIR, open_catalog
from liveexec.db import create_db_engine, head_revision
from liveexec.demo import prepare_demo_catalog

ROOT = Path(__file__).resolve().parents[2]
FX = ROOT / "liveexec/examples/ema_cross_usdjpy_fx.yaml"
runner = CliRunner(env={"COLUMNS": "200"})
EMA_CROSS = "nautilus_trader.examples.strategies.ema_cross:EMACross"


def test_console_script_help_and_exit_codes(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("liveexec")
    assert exe.exists(), "the liveexec console script is installed with the package"
    shown = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert shown.returncode == 0
    for command in ("demo", "config", "db"):
        assert command in shown.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: sideways\n")
    result = subprocess.run(
        [exe, "config", "check", bad], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "mode" in result.stderr


# Put on PYTHONPATH as sitecustomize: the import of the command line's module holds until the
# test has pressed Ctrl-C, so the interrupt lands inside the import every time.
_HOLD_THE_CLI_IMPORT = """
import importlib.abc, os, sys, time

class _Hold(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "liveexec.cli._app":
            open(os.environ["READY_FILE"], "w").close()
            time.sleep(60)
        return None

sys.meta_path.insert(0, _Hold())
"""


@pytest.mark.parametrize("how", ["console script", "python -m liveexec"])
def test_ctrl_c_while_the_command_line_imports_is_an_interrupt_not_a_traceback(
    tmp_path: Path, how: str
) -> None:
    (tmp_path / "sitecustomize.py").write_text(_HOLD_THE_CLI_IMPORT)
    ready = tmp_path / "ready"
    exe = Path(sys.executable).with_name("liveexec")
    command = [str(exe)] if how == "console script" else [sys.executable, "-m", "liveexec"]
    child = subprocess.Popen(
        [*command, "runs", "list"],
        env={**os.environ, "PYTHONPATH": str(tmp_path), "READY_FILE": str(ready)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ready.exists(), "the command line's import was never reached"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert err.strip() == "interrupted"
    assert "Traceback" not in out + err


def test_config_check_runs_the_backtest_preflight_without_reading_data() -> None:
    # The example's catalog (LIVEEXEC_CATALOG, empty per test) does not exist yet.
    missing = runner.invoke(app, ["config", "check", str(FX)])
    assert missing.exit_code == 2
    assert "data.catalog.path" in missing.output
    prepare_demo_catalog(load_config(FX))
    result = runner.invoke(app, ["config", "check", str(FX)])
    assert result.exit_code == 0, result.output
    assert "config_id=" in result.output
    # A component parameter its own config class rejects fails here, not at `backtest`.
    broken = runner.invoke(
        app, ["config", "check", str(FX), "--set", "strategies.0.config.fast_ema_period=ten"]
    )
    assert broken.exit_code == 2
    assert "strategies[0].config" in broken.output


def test_config_check_reports_every_error_and_exits_2(tmp_path: Path) -> None:
    raw = yaml.safe_load(FX.read_text())
    raw["venues"][0]["oms_type"] = "NETING"
    raw["instruments"][0]["price_precision"] = -1
    path = tmp_path / "fx.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    assert "venues[0].oms_type" in result.output
    assert "instruments[0].price_precision" in result.output


def test_config_check_never_prints_secrets(tmp_path: Path) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "mode": "live",
                "strategies": [
                    {
                        "path": EMA_CROSS,
                        "config_path": EMA_CROSS + "Config",
                        "config": {
                            "instrument_id": "BTCUSDT.BINANCE",
                            "bar_type": "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL",
                            "trade_size": "0.01",
                        },
                    }
                ],
                "live": {"binance": {"api_key": "${K}", "api_secret": "${S}"}},
                "database": {"url": "postgresql://u:${S}@h/db"},
            }
        )
    )
    env = {**os.environ, "K": "visible-key-123", "S": "top-secret-456"}
    result = runner.invoke(app, ["config", "check", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "top-secret-456" not in result.output and "visible-key-123" not in result.output


def test_config_schema_is_the_committed_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == json.loads(config_json_schema())
    out = tmp_path / "s.json"
    assert runner.invoke(app, ["config", "schema", "-o", str(out)]).exit_code == 0
    assert out.read_text() == (ROOT / "schemas/liveexec-config.schema.json").read_text()


def test_db_commands_round_trip(db_url: str) -> None:
    assert runner.invoke(app, ["db", "upgrade", "--db", db_url]).exit_code == 0
    current = runner.invoke(app, ["db", "current", "--db", db_url])
    assert f"revision {head_revision()}" in current.output and "up to date" in current.output
    assert runner.invoke(app, ["db", "check", "--db", db_url]).exit_code == 0
    assert runner.invoke(app, ["db", "downgrade", "0001", "--db", db_url]).exit_code == 0
    behind = runner.invoke(app, ["db", "current", "--db", db_url])
    assert "revision 0001" in behind.output and "liveexec db upgrade" in behind.output
    drift = runner.invoke(app, ["db", "check", "--db", db_url])
    assert drift.exit_code == 1
    assert "drift" in drift.output


def test_unreachable_database_exits_1_without_password() -> None:
    result = runner.invoke(app, ["db", "upgrade", "--db", "postgresql://me:pw-xyz@127.0.0.1:9/x"])
    assert result.exit_code == 1
    assert "cannot connect" in result.output
    assert "pw-xyz" not in result.output


@pytest.mark.slow
def test_demo_runs_the_examples_into_the_default_database(isolated_home: Path) -> None:
    result = runner.invoke(app, ["demo", "--no-progress"])
    assert result.exit_code == 0, result.output
    database = isolated_home / "liveexec.db"
    assert database.is_file()
    engine = create_db_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        runs = connection.execute(text("SELECT status, count(*) FROM runs GROUP BY status")).all()
        orders = connection.execute(text("SELECT count(*) FROM unified_orders")).scalar_one()
    engine.dispose()
    assert version == head_revision()
    assert runs == [("completed", 3)]
    assert orders == 4136 + 178 + 40  # BTC bars, USD/JPY, Binance quotes
    assert "ema_cross_usdjpy_fx.yaml" in result.output
    run_id = result.output.split("ema_cross_usdjpy_fx.yaml")[1].split()[1]
    shown = runner.invoke(app, ["runs", "show", run_id])
    assert shown.exit_code == 0, shown.output
    assert "178" in shown.output
    listed = runner.invoke(app, ["runs", "list"])
    assert run_id[:8] in listed.output  # the table shows ids by a prefix that works everywhere
    assert runner.invoke(app, ["runs", "show", run_id[:8]]).exit_code == 0


def test_database_url_env_var_overrides_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere.db"
    monkeypatch.setenv("LIVEEXEC_DATABASE_URL", f"sqlite:///{target}")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert target.is_file()


def test_data_import_writes_bars_and_instrument_into_a_catalog(tmp_path: Path) -> None:
    config = ROOT / "liveexec/examples/ema_cross_btc_perp_bars.yaml"
    catalog = tmp_path / "catalog"
    args = ["data", "import", str(config), "--instrument", "BTCUSDT-PERP.SIM", "--catalog"]
    result = runner.invoke(
        app,
        [
            *args,
            str(catalog),
            "--bars",
            str(DEMO_DATA_DIR / "btc-perp-20211231-20220201_1m.csv.gz"),
            "--bar-type",
            "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
            # The file's prices have up to 3 decimals and its volumes 4; the example's
            # instrument keeps 1 and 3.
            "--round-to-precision",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 45,031 rows" in result.output
    assert "rounded 40,452 values to the instrument's precision" in result.output
    opened = open_catalog(str(catalog))
    assert [i.id.value for i in opened.instruments()] == ["BTCUSDT-PERP.SIM"]
    assert len(opened.bars()) == 45_031
    missing = runner.invoke(app, [*args, str(catalog), "--quotes", str(tmp_path / "nope.parquet")])
    assert missing.exit_code == 3  # a data problem (DataError), not bad configuration
    assert "quotes file not found" in missing.output
    unknown = runner.invoke(
        app, ["data", "import", str(config), "--instrument", "ETH.SIM", "--quotes", "x.parquet"]
    )
    assert unknown.exit_code == 2
    assert "ETH.SIM is not defined" in unknown.output
