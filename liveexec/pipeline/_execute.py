"""papermill and jupytext behind one small typed function (both are untyped libraries)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext  # type: ignore[import-untyped]  # jupytext ships no type information
import nbformat
import papermill  # type: ignore[import-untyped]  # papermill ships no type information
from papermill.exceptions import PapermillExecutionError  # type: ignore[import-untyped]
from traitlets.config import Config

from liveexec.errors import LiveexecError

__all__ = ["NOTEBOOKS_DIR", "NotebookFailedError", "executed_text", "run_notebook"]

# The notebooks' text sources (jupytext percent files): packaged into the wheel as
# liveexec/_notebooks, at the repository's root in a source checkout.
_PACKAGED = Path(__file__).resolve().parents[1] / "_notebooks"
NOTEBOOKS_DIR = (
    _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "notebooks"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NotebookFailedError(LiveexecError):
    """A notebook raised: the executed copy (with the traceback) is kept at ``output``."""

    def __init__(self, notebook: str, output: Path, reason: str) -> None:
        self.notebook = notebook
        self.output = output
        self.reason = reason
        super().__init__(f"notebook {notebook} failed: {reason} (executed copy: {output})")


@dataclass(frozen=True)
class ExecutedNotebook:
    source: Path
    output: Path


def run_notebook(
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path | None = None,
    kernel: str = "python3",
    timeout_s: int = 1800,
) -> ExecutedNotebook:
    """Execute ``source`` (a jupytext ``.py`` or an ``.ipynb``) with papermill into ``output``
    (an ``.ipynb``). Raises :class:`NotebookFailedError` naming the error the notebook raised; the
    executed copy is written either way."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix == ".py":
        notebook = jupytext.read(source)
        prepared = output.with_name(output.stem + ".input.ipynb")
        nbformat.write(notebook, prepared)  # type: ignore[no-untyped-call]  # untyped API
    else:
        prepared = source
    try:
        with tempfile.TemporaryDirectory(prefix="liveexec-kernel-") as sockets:
            papermill.execute_notebook(
                str(prepared),
                str(output),
                parameters=parameters,
                cwd=str(cwd or source.parent),
                kernel_name=kernel,
                progress_bar=False,
                execution_timeout=timeout_s,
                config=_kernel_channels(Path(sockets)),
            )
    except PapermillExecutionError as exc:
        reason = f"{exc.ename}: {_ANSI.sub('', str(exc.evalue))}"
        raise NotebookFailedError(source.stem, output, reason) from None
    finally:
        if prepared != source:
            prepared.unlink(missing_ok=True)
    return ExecutedNotebook(source, output)


def _kernel_channels(directory: Path) -> Config:
    """The kernel's channels as Unix sockets in a private folder (``directory``, mode 0700) on
    POSIX: no TCP port another local user could read plain messages from, and so no "Kernel is
    running over TCP without encryption" warning from every notebook's kernel on the terminal."""
    if os.name != "posix":
        return Config()
    return Config({"KernelManager": {"transport": "ipc", "ip": str(directory / "kernel")}})


def executed_text(path: Path) -> str:
    """Every output of an executed notebook as text (streams, errors, text/plain and HTML)."""
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]  # untyped API
    parts: list[str] = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(str(out["text"]))
            if "traceback" in out:
                parts.extend(str(line) for line in out["traceback"])
            for kind in ("text/plain", "text/html"):
                if kind in out.get("data", {}):
                    parts.append(str(out["data"][kind]))
    return "\n".join(parts)
