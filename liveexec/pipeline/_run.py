"""``liveexec pipeline``: the notebooks in order, as a playbook, keeping the evidence.

01_explore, 02_backtest, 03_paper_validate (when asked, or when the config's promotion
criteria require a paper run), then 04_promote on the executed notebooks before it (and their
HTML exports, hashed into the decision). Each stage's executed notebook and HTML export stay in
the output folder; the first failing stage stops the pipeline, its executed copy (with the
traceback) kept too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter

from liveexec.config import load_config
from liveexec.errors import LiveexecError
from liveexec.pipeline._execute import NOTEBOOKS_DIR, NotebookFailedError, run_notebook

__all__ = ["PipelineFailedError", "PipelineResult", "StageResult", "run"]

Progress = Callable[[str, str], None]  # (stage, event: "started" | "done" | "failed")


@dataclass(frozen=True)
class StageResult:
    name: str
    notebook: Path
    html: Path | None
    seconds: float
    error: str | None = None


@dataclass
class PipelineResult:
    out: Path
    config_id: str
    stages: list[StageResult] = field(default_factory=list)
    backtest_run_id: str | None = None
    paper_run_id: str | None = None
    promotion_id: str | None = None
    decision: str | None = None

    @property
    def approved(self) -> bool:
        return self.decision == "approved"


class PipelineFailedError(LiveexecError):
    """A stage failed; the evidence of the stages that ran is in ``result.out``."""

    def __init__(self, result: PipelineResult, stage: str, reason: str) -> None:
        self.result = result
        self.stage = stage
        super().__init__(f"stage {stage} failed: {reason} (evidence kept in {result.out})")


def export_html(notebook: Path) -> Path:
    """The executed notebook as a standalone HTML page beside it (images embedded)."""
    node = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]  # untyped API
    exporter = HTMLExporter()  # type: ignore[no-untyped-call]  # nbconvert is partly untyped
    body, _resources = exporter.from_notebook_node(node)
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def run(
    config: str | Path,
    out: str | Path,
    *,
    overrides: Sequence[str] = (),
    database_url: str | None = None,
    approver: str | None = None,
    paper: bool | None = None,
    progress: Progress | None = None,
    notebooks: Path = NOTEBOOKS_DIR,
) -> PipelineResult:
    """Run the playbook for ``config`` into ``out``. A bad config fails before any notebook
    runs (``ConfigError``); a failing stage raises :class:`PipelineFailedError`. A rejected
    promotion is a result (``result.approved`` is False), not an error. ``paper`` None: the
    paper stage runs when the config's ``promotion.require_paper`` is set."""
    config_path = Path(config).resolve()
    cfg = load_config(config_path, overrides=list(overrides))  # fail fast, before any kernel
    folder = Path(out).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    result = PipelineResult(out=folder, config_id=cfg.config_id)
    report = progress or (lambda _stage, _event: None)
    common: dict[str, Any] = {"config": str(config_path), "overrides": list(overrides)}

    def stage(name: str, parameters: dict[str, Any]) -> StageResult:
        report(name, "started")
        started = time.monotonic()
        output = folder / f"{name}.ipynb"
        try:
            run_notebook(notebooks / f"{name}.py", output, {**common, **parameters}, cwd=folder)
        except NotebookFailedError as exc:
            html = export_html(output) if output.exists() else None
            result.stages.append(
                StageResult(name, output, html, time.monotonic() - started, exc.reason)
            )
            report(name, "failed")
            raise PipelineFailedError(result, name, exc.reason) from None
        done = StageResult(name, output, export_html(output), time.monotonic() - started)
        result.stages.append(done)
        report(name, "done")
        return done

    explore = stage("01_explore", {})
    backtest_file = folder / "02_backtest.json"
    backtested = stage(
        "02_backtest", {"database_url": database_url, "result_file": str(backtest_file)}
    )
    result.backtest_run_id = json.loads(backtest_file.read_text())["run_id"]
    done_stages = [explore, backtested]
    if paper if paper is not None else cfg.promotion.require_paper:
        paper_file = folder / "03_paper_validate.json"
        done_stages.append(
            stage(
                "03_paper_validate",
                {
                    "database_url": database_url,
                    "backtest_run_id": result.backtest_run_id,
                    "result_file": str(paper_file),
                },
            )
        )
        result.paper_run_id = json.loads(paper_file.read_text())["run_id"]
    evidence = [
        str(path) for done in done_stages for path in (done.notebook, done.html) if path is not None
    ]
    decision_file = folder / "04_promote.json"
    stage(
        "04_promote",
        {
            "database_url": database_url,
            "backtest_run_id": result.backtest_run_id,
            "paper_run_id": result.paper_run_id,
            "evidence": evidence,
            "approver": approver,
            "result_file": str(decision_file),
        },
    )
    decided = json.loads(decision_file.read_text())
    result.promotion_id = decided["promotion_id"]
    result.decision = decided["decision"]
    return result
