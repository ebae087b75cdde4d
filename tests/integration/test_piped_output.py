"""Output for pipes (issue 20 §5): each command that prints tables or progress, run as a script
runs it (standard output a pipe, a terminal width of 80 in $COLUMNS), keeps every id whole on
one line and sends its progress to standard error, never standard output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveexec.db import create_db_engine, upgrade
from liveexec.examples import EXAMPLES_DIR
from liveexec.promotion import list_promotions
from liveexec.runs import list_runs
from tests.analysis.test_promotion import LOOSE

pytestmark = pytest.mark.slow

LIVEEXEC = Path(sys.executable).parent / "liveexec"


def _lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_piped_commands_keep_ids_whole_and_progress_off_stdout(
    demo_catalog: Path, sqlite_url: str, approver: str, tmp_path: Path
) -> None:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml").read_text()
    )
    raw["promotion"] = LOOSE  # one losing position on a day of quotes: loosened on purpose
    config = tmp_path / "quoter.yaml"
    config.write_text(yaml.safe_dump(raw))
    upgrade(sqlite_url)
    env = {**os.environ, "COLUMNS": "80", "LIVEEXEC_DATABASE_URL": sqlite_url}

    def piped(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # this environment's console script, our arguments
            [str(LIVEEXEC), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    backtest = piped("backtest", str(config))
    paper = piped("paper", str(config), "--set", "mode=paper")
    evidence = tmp_path / "evidence-of-a-pipeline-with-a-long-folder-name"
    pipeline = piped("pipeline", str(config), "--out", str(evidence))

    engine = create_db_engine(sqlite_url, create=False)
    try:
        runs = list_runs(engine)
        [promotion] = list_promotions(engine)
    finally:
        engine.dispose()
    by_mode = {mode: runs.filter(runs["mode"] == mode)["run_id"].to_list() for mode in runs["mode"]}
    pipelined = promotion.backtest_run_id
    [first] = [run_id for run_id in by_mode["backtest"] if run_id != pipelined]
    [paper_id] = by_mode["paper"]
    config_id = runs["config_id"][0]

    # Results: one line each, whatever the terminal's width said.
    assert _lines_with(backtest.stdout, f"run id: {first} (stored in {sqlite_url})")
    assert _lines_with(backtest.stdout, f"Run {first}")
    assert _lines_with(backtest.stdout, config_id)
    assert _lines_with(paper.stdout, f"run id: {paper_id} (stored in {sqlite_url})")
    [result] = _lines_with(pipeline.stdout, f"backtest run {pipelined}; ")
    assert f"promotion {promotion.promotion_id}: approved; evidence in {evidence}" in result
    # Progress: the pipeline's stages on standard error only; no progress bar on either.
    assert "running..." not in pipeline.stdout
    for stage in ("01_explore", "02_backtest", "04_promote"):
        assert _lines_with(pipeline.stderr, f"{stage} running...")
        assert _lines_with(pipeline.stderr, f"{stage} done in ")
    for done, name in ((backtest, "backtest"), (paper, "paper")):
        assert f"{name} quoter.yaml" not in done.stdout  # the progress bar's label

    listed = piped("runs", "list").stdout
    for run_id in (first, pipelined, paper_id):
        [line] = _lines_with(listed, run_id[:8])
        assert "SimpleQuoterStrategy" in line and "BTCUSDT.BINANCE" in line
    shown = piped("runs", "show", paper_id[:8]).stdout
    assert _lines_with(shown, f"Run {paper_id}") and _lines_with(shown, config_id)
    compared = piped("compare", first, paper_id).stdout
    [line] = _lines_with(compared, first)
    assert paper_id in line  # both runs' ids on the table's one "run" row
    promotions = piped("promotions", "list").stdout
    [line] = _lines_with(promotions, promotion.promotion_id[:8])
    assert config_id[:8] in line and "approved" in line
    decision = piped("promotions", "show", promotion.promotion_id).stdout
    assert _lines_with(decision, promotion.row_hash)
    assert _lines_with(decision, promotion.promotion_id)
