"""``liveexec pipeline``: the notebooks in order, as a playbook, keeping the evidence.

01_explore, 02_backtest (which also writes the backtest run's report, ``report.html``),
03_paper_validate (when asked, or when the config's promotion criteria require a paper run),
then 04_promote on the executed notebooks before it (and their HTML exports and the report,
hashed into the decision). Each stage's executed notebook and HTML export stay in
the output folder; the first failing stage stops the pipeline, its executed copy (with the
traceback) kept too.

The output folder belongs to one pipeline at a time (an exclusive lock for the whole run) and
keeps the evidence of one decision: ``pipeline.json`` says which (config, runs, promotion); a
folder whose pipeline reached a decision is not reused unless asked (``replace``), since its
files are what that decision's hashes point at.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter

from liveexec.config import load_config
from liveexec.errors import ConfigError, ConfigIssue, LiveexecError
from liveexec.pipeline._execute import NOTEBOOKS_DIR, NotebookFailedError, run_notebook

__all__ = ["PipelineFailedError", "PipelineResult", "StageResult", "run"]

Progress = Callable[[str, str], None]  # (stage, event: "started" | "done" | "failed")
MANIFEST = "pipeline.json"
REPORT = "report.html"  # the backtest run's report (liveexec.analysis.report)
_LOCK = ".liveexec-pipeline.lock"
_STAGES = ("01_explore", "02_backtest", "03_paper_validate", "04_promote")


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
    pipeline_id: str = field(default_factory=lambda: str(uuid.uuid4()))
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


def _manifest(result: PipelineResult, status: str) -> None:
    data = {
        **{k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()},
        "stages": [stage.name for stage in result.stages],
        "status": status,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (result.out / MANIFEST).write_text(json.dumps(data, indent=2) + "\n")


@contextmanager
def _claimed(folder: Path, replace: bool) -> Iterator[None]:
    """Hold ``folder`` for one pipeline: refused while another pipeline runs in it, or when it
    keeps the evidence of a decision (unless ``replace``: that decision's evidence then no
    longer verifies, and ``live`` refuses it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / _LOCK).open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            raise ConfigError(
                "--out",
                [
                    ConfigIssue(
                        str(folder),
                        f"another pipeline (pid {holder}) is writing its evidence here",
                        "give each pipeline its own --out folder",
                    )
                ],
            ) from None
        try:
            previous = json.loads((folder / MANIFEST).read_text())
        except (FileNotFoundError, ValueError):
            previous = {}
        if previous.get("promotion_id") and not replace:
            raise ConfigError(
                "--out",
                [
                    ConfigIssue(
                        str(folder),
                        f"holds the evidence of promotion {previous['promotion_id']} "
                        f"({previous.get('decision')}, backtest run "
                        f"{previous.get('backtest_run_id')})",
                        "choose another --out, or --replace (that decision's evidence will no "
                        "longer verify)",
                    )
                ],
            )
        for name in _STAGES:  # nothing of an earlier pipeline passes for this one's evidence
            for suffix in (".ipynb", ".html", ".json"):
                (folder / f"{name}{suffix}").unlink(missing_ok=True)
        (folder / REPORT).unlink(missing_ok=True)
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


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
    replace: bool = False,
) -> PipelineResult:
    """Run the playbook for ``config`` into ``out``. A bad config, or an ``out`` folder in use
    or holding an earlier decision's evidence (see ``replace``), fails before any notebook runs
    (``ConfigError``); a failing stage raises :class:`PipelineFailedError`. A rejected
    promotion is a result (``result.approved`` is False), not an error. ``paper`` None: the
    paper stage runs when the config's ``promotion.require_paper`` is set."""
    config_path = Path(config).resolve()
    cfg = load_config(config_path, overrides=list(overrides))  # fail fast, before any kernel
    folder = Path(out).resolve()
    with _claimed(folder, replace):
        result = PipelineResult(out=folder, config_id=cfg.config_id)
        _manifest(result, "running")
        try:
            _stages(
                result,
                config_path=config_path,
                require_paper=cfg.promotion.require_paper,
                overrides=overrides,
                database_url=database_url,
                approver=approver,
                paper=paper,
                progress=progress,
                notebooks=notebooks,
            )
        except PipelineFailedError:
            _manifest(result, "failed")
            raise
        _manifest(result, "decided")
        return result


def _stages(
    result: PipelineResult,
    *,
    config_path: Path,
    require_paper: bool,
    overrides: Sequence[str],
    database_url: str | None,
    approver: str | None,
    paper: bool | None,
    progress: Progress | None,
    notebooks: Path,
) -> None:
    folder = result.out
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
    report_file = folder / REPORT
    backtested = stage(
        "02_backtest",
        {
            "database_url": database_url,
            "result_file": str(backtest_file),
            "report_file": str(report_file),
        },
    )
    result.backtest_run_id = json.loads(backtest_file.read_text())["run_id"]
    done_stages = [explore, backtested]
    # The result files name the runs: hashed with the notebooks, they bind them to this evidence.
    result_files = [backtest_file, report_file]  # and the backtest's report, as people read it
    if paper if paper is not None else require_paper:
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
        result_files.append(paper_file)
    evidence = [
        str(path) for done in done_stages for path in (done.notebook, done.html) if path is not None
    ] + [str(path) for path in result_files]
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
