"""The pipeline end to end (papermill kernels, real backtests, the gate) on both databases."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.config import load_config, parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.pipeline import PipelineFailedError, executed_text, run
from liveexec.promotion import (
    NotApprovedError,
    get_promotion,
    list_promotions,
    require_approved,
    sha256_file,
)
from tests.analysis.test_promotion import LOOSE

pytestmark = pytest.mark.slow
LIVEEXEC = str(Path(sys.executable).with_name("liveexec"))

FAKE_KEY = "FAKEKEY-do-not-print-7f3a9c"  # a secret that must appear in no evidence file


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pipeline")
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(root / "catalog")
    raw["live"] = {"binance": {"api_key": FAKE_KEY, "api_secret": FAKE_KEY}}
    raw["promotion"] = LOOSE  # one losing position on a day of quotes: loosened on purpose
    # Every line NautilusTrader logs goes to the files checked for the secret below.
    raw["logging"] = {"directory": str(root / "logs"), "file_level": "INFO"}
    prepare_demo_catalog(parse_config(raw))
    path = root / "quoter.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def evidence_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_pipeline_approves(config: Path, db_url: str, tmp_path: Path, approver: str) -> None:
    upgrade(db_url)
    stages: list[tuple[str, str]] = []
    result = run(
        config,
        tmp_path / "out",
        database_url=db_url,
        approver="alice",
        paper=True,
        progress=lambda stage, event: stages.append((stage, event)),
    )
    assert result.approved and result.backtest_run_id and result.paper_run_id
    names = ["01_explore", "02_backtest", "03_paper_validate", "04_promote"]
    assert [s.name for s in result.stages] == names
    assert stages == [(name, event) for name in names for event in ("started", "done")]
    for stage in result.stages:
        assert stage.notebook.is_file() and stage.html is not None and stage.html.is_file()
    engine = create_db_engine(db_url, create=False)
    try:
        require_approved(engine, load_config(config))  # signed by alice's key in the kernel
        row = get_promotion(engine, str(result.promotion_id))
        assert row.approver == "alice" and row.backtest_run_id == result.backtest_run_id
        assert row.approver_key == approver.split()[2]
        assert row.paper_run_id == result.paper_run_id
        # The paper run replays the same quotes: every order matched, same fills and PnL.
        assert row.metrics["parity"]["matched_pct"] == 100.0
        assert row.metrics["parity"]["pnl_diff"] == "0"
        assert row.metrics["paper"]["orders"] == row.metrics["backtest"]["orders"] == 40
        recorded = {Path(e["path"]).name: e["sha256"] for e in row.evidence}
        assert set(recorded) == {
            f"{name}.{suffix}" for name in names[:3] for suffix in ("ipynb", "html")
        } | {"02_backtest.json", "03_paper_validate.json", "report.html"}  # the runs, the report
        for name, digest in recorded.items():
            assert sha256_file(tmp_path / "out" / name) == digest
        # The report is the backtest run's: its page names it and draws its fills.
        page = (tmp_path / "out" / "report.html").read_text()
        assert result.backtest_run_id in page and "entry, " in page
    finally:
        engine.dispose()
    # The decision is shown in the executed 04 notebook; no secret anywhere in the evidence.
    assert "approved" in executed_text(tmp_path / "out" / "04_promote.ipynb")
    logs = list((config.parent / "logs").glob("*.log"))
    assert logs
    for path in [*evidence_files(tmp_path / "out"), *logs]:
        assert FAKE_KEY not in path.read_text(errors="replace"), path


def test_pipeline_rejects(config: Path, db_url: str, tmp_path: Path) -> None:
    upgrade(db_url)
    out = tmp_path / "out"
    cli = CliRunner(env={"COLUMNS": "200"})
    done = cli.invoke(
        app,
        [
            "pipeline",
            str(config),
            "--out",
            str(out),
            "--db",
            db_url,
            "--set",
            "promotion.min_trades=5",
        ],
    )
    assert done.exit_code == 1, done.output
    assert "rejected" in done.output
    engine = create_db_engine(db_url, create=False)
    try:
        rows = list_promotions(engine)
        assert [r.decision for r in rows] == ["rejected"]
        assert rows[0].failed == [
            {"criterion": "backtest.min_trades", "value": "1", "limit": ">= 5"}
        ]
        with pytest.raises(NotApprovedError):
            require_approved(engine, load_config(config))
    finally:
        engine.dispose()
    for path in evidence_files(out):
        assert FAKE_KEY not in path.read_text(errors="replace"), path


def test_a_failing_stage_stops_and_keeps_evidence(
    config: Path, sqlite_url: str, tmp_path: Path
) -> None:
    upgrade(sqlite_url)
    with pytest.raises(PipelineFailedError, match="01_explore") as failure:
        run(
            config,
            tmp_path / "out",
            database_url=sqlite_url,
            overrides=[f"data.catalog.path={tmp_path / 'no-catalog'}"],
        )
    assert re.search(r"no-catalog.*no such catalog folder", str(failure.value))
    [stage] = failure.value.result.stages
    assert stage.error and stage.notebook.is_file() and stage.html is not None
    assert not (tmp_path / "out" / "02_backtest.ipynb").exists()
    engine = create_db_engine(sqlite_url, create=False)
    try:
        assert list_promotions(engine) == []
    finally:
        engine.dispose()


def test_bad_config_runs_nothing(config: Path, sqlite_url: str, tmp_path: Path) -> None:
    cli = CliRunner()
    done = cli.invoke(
        app,
        [
            "pipeline",
            str(config),
            "--out",
            str(tmp_path / "out"),
            "--db",
            sqlite_url,
            "--set",
            "promotion.min_trades=-1",
        ],
    )
    assert done.exit_code == 2 and "promotion.min_trades" in done.output
    assert not (tmp_path / "out").exists()


def test_one_folder_keeps_one_pipelines_evidence(
    config: Path, sqlite_url: str, tmp_path: Path
) -> None:
    """Two pipelines on one --out at once: the second is refused before it runs anything, and
    the first's decision cites its own backtest. The folder then keeps that decision's
    evidence: reused only with --replace."""
    upgrade(sqlite_url)
    out = tmp_path / "out"
    first = subprocess.Popen(
        [LIVEEXEC, "pipeline", str(config), "--out", str(out), "--db", sqlite_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "pipeline.json").exists():
            assert first.poll() is None and time.monotonic() < deadline, "first never started"
            time.sleep(0.1)
        second = subprocess.run(
            [LIVEEXEC, "pipeline", str(config), "--out", str(out), "--db", sqlite_url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 2, second.stdout + second.stderr
        assert "another pipeline" in " ".join(second.stderr.split())
        output, _ = first.communicate(timeout=600)
    finally:
        first.kill()
    assert first.returncode == 0, output
    manifest = json.loads((out / "pipeline.json").read_text())
    assert manifest["status"] == "decided"
    engine = create_db_engine(sqlite_url, create=False)
    try:
        [row] = list_promotions(engine)
        assert row.backtest_run_id == manifest["backtest_run_id"]
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
    finally:
        engine.dispose()
    # Later, sequentially: refused, naming the decision whose evidence the folder holds.
    with pytest.raises(ConfigError, match=f"holds the evidence of promotion {row.promotion_id}"):
        run(config, out, database_url=sqlite_url)
    # --replace: the earlier evidence goes (that decision no longer verifies), this run's comes.
    with pytest.raises(PipelineFailedError, match="01_explore"):
        run(
            config,
            out,
            database_url=sqlite_url,
            replace=True,
            overrides=[f"data.catalog.path={tmp_path / 'no-catalog'}"],
        )
    assert not (out / "02_backtest.ipynb").exists() and not (out / "report.html").exists()
    assert json.loads((out / "pipeline.json").read_text())["status"] == "failed"
