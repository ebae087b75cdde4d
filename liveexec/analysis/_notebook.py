"""The parameters of liveexec's notebooks, validated at once (papermill's values included).

The first code cell of each notebook calls :func:`notebook_parameters` with its globals: a
mistyped or unknown parameter, or a config that does not validate, fails there, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from liveexec.config import LiveexecConfig, load_config
from liveexec.errors import ConfigError, ConfigIssue

__all__ = [
    "BacktestParameters",
    "ExploreParameters",
    "NotebookParameters",
    "PaperValidateParameters",
    "PromoteParameters",
    "notebook_parameters",
]

# Names a kernel defines by itself: never parameters.
_KERNEL_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})
_PARAMETER_TYPES = (str, int, float, bool, list, dict, tuple, type(None))


class NotebookParameters(BaseModel):
    """Parameters every notebook takes: the config file and ``--set`` style overrides."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    notebook: ClassVar[str] = ""

    config: str = Field(min_length=1, description="Path of the liveexec config file.")
    overrides: list[str] = Field(
        default_factory=list, description="'dotted.key=value' assignments, as `--set`."
    )

    def load(self) -> LiveexecConfig:
        """The config, validated (a ``ConfigError`` names every bad field)."""
        path = Path(self.config).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"notebook {self.notebook}",
                [ConfigIssue("config", f"{path}: no such config file")],
            )
        return load_config(path, overrides=self.overrides)


class ExploreParameters(NotebookParameters):
    notebook: ClassVar[str] = "01_explore"

    gap_factor: float = Field(
        default=10.0, gt=1, description="A gap is a pause this many times the median spacing."
    )


class BacktestParameters(NotebookParameters):
    notebook: ClassVar[str] = "02_backtest"

    database_url: str | None = Field(default=None, description="Default: as `liveexec backtest`.")
    orders_shown: int = Field(default=20, ge=0, description="Rows of the orders table shown.")
    result_file: str | None = Field(
        default=None, description="Where the run id is written as JSON (for the pipeline)."
    )
    report_file: str | None = Field(
        default=None, description="Where the run's HTML report is written (for the pipeline)."
    )


class PaperValidateParameters(NotebookParameters):
    notebook: ClassVar[str] = "03_paper_validate"

    database_url: str | None = Field(default=None, description="Default: as `liveexec paper`.")
    backtest_run_id: str = Field(min_length=1, description="The backtest to compare with.")
    result_file: str | None = Field(
        default=None, description="Where the paper run id is written as JSON (for the pipeline)."
    )


class PromoteParameters(NotebookParameters):
    notebook: ClassVar[str] = "04_promote"

    database_url: str | None = Field(default=None, description="Default: as `liveexec promote`.")
    backtest_run_id: str = Field(min_length=1, description="The config's completed backtest.")
    paper_run_id: str | None = Field(default=None, description="Its paper run, if any.")
    evidence: list[str] = Field(
        default_factory=list, description="Files hashed into the decision (executed notebooks)."
    )
    approver: str | None = Field(default=None, description="Default: $LIVEEXEC_APPROVER.")
    result_file: str | None = Field(
        default=None, description="Where the decision is written as JSON (for the pipeline)."
    )


def notebook_parameters[P: NotebookParameters](model: type[P], namespace: Mapping[str, Any]) -> P:
    """``model`` from the notebook's globals: every plain value defined so far is a parameter
    (those of the ``parameters`` cell and those papermill injected), so a misspelt name is an
    error instead of being silently ignored."""
    values = {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_")
        and name not in _KERNEL_NAMES
        and isinstance(value, _PARAMETER_TYPES)
    }
    unknown = sorted(set(values) - set(model.model_fields))
    issues = [
        ConfigIssue(name, "unknown parameter", f"known: {', '.join(sorted(model.model_fields))}")
        for name in unknown
    ]
    if not issues:
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            issues = [
                ConfigIssue(".".join(str(p) for p in error["loc"]) or "<parameters>", error["msg"])
                for error in exc.errors()
            ]
    raise ConfigError(f"notebook {model.notebook} parameters", issues)
