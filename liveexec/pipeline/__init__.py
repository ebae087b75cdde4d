"""Notebooks executed as playbooks: papermill through one typed wrapper, and the pipeline
(explore, backtest, promote) that keeps each executed notebook and its HTML as evidence."""

from liveexec.pipeline._execute import (
    NOTEBOOKS_DIR,
    ExecutedNotebook,
    NotebookFailedError,
    executed_text,
    run_notebook,
)
from liveexec.pipeline._run import (
    PipelineFailedError,
    PipelineResult,
    StageResult,
    export_html,
    run,
)

__all__ = [
    "NOTEBOOKS_DIR",
    "ExecutedNotebook",
    "NotebookFailedError",
    "PipelineFailedError",
    "PipelineResult",
    "StageResult",
    "executed_text",
    "export_html",
    "run",
    "run_notebook",
]
