"""``liveexec lab``: JupyterLab on a working copy of liveexec's notebooks, with a kernel that runs
this interpreter (so it has liveexec), and jupytext opening the ``.py`` notebooks as notebooks.

Nothing in the user's Jupyter configuration is written: the kernelspec and the settings this
server needs live in a folder of liveexec's own (``$LIVEEXEC_HOME/jupyter/<interpreter>``) and
reach only the server started here, through ``JUPYTER_PATH`` and ``JUPYTER_CONFIG_PATH``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from liveexec.examples import EXAMPLES_DIR

__all__ = ["WorkingCopy", "jupyter_environment", "lab_command", "prepare_working_copy"]

EXIT_BAD_INPUT = 2

# The notebooks' text sources: liveexec/_notebooks in the wheel, notebooks/ in a checkout (the
# location liveexec.pipeline executes them from). Not imported from liveexec.pipeline, which
# needs papermill: `liveexec --help` must work without the notebook extra.
_PACKAGED = Path(__file__).resolve().parents[1] / "_notebooks"
NOTEBOOKS_DIR = (
    _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "notebooks"
)
# The `config = "..."` line of a notebook's parameters cell.
_CONFIG_LINE = re.compile(r'^config = "(?P<path>[^"\n]+)"$', re.MULTILINE)
# Open .py files with jupytext's notebook view (a default: the user's own settings still win).
_LAB_DEFAULTS = {
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}
}
_REQUIRED = ("jupyterlab", "jupytext", "ipykernel")


@dataclass
class WorkingCopy:
    """What :func:`prepare_working_copy` did: notebooks copied, and copies kept as they were
    (those the user edited are listed in ``edited``)."""

    directory: Path
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)


def _resolved_config_line(text: str, source_dir: Path) -> str:
    """``text`` with a relative ``config`` parameter made absolute, so the copy runs from any
    folder: resolved from the notebook's own folder, else (the wheel's layout) the bundled
    example of that name. A path that resolves to no file is left as it is."""

    def absolute(match: re.Match[str]) -> str:
        path = Path(match["path"])
        if path.is_absolute():
            return match[0]
        resolved = (source_dir / path).resolve()
        if not resolved.is_file() and (EXAMPLES_DIR / path.name).is_file():
            resolved = EXAMPLES_DIR / path.name
        if not resolved.is_file():
            return match[0]
        return f"config = {json.dumps(str(resolved))}"

    return _CONFIG_LINE.sub(absolute, text, count=1)


def prepare_working_copy(directory: Path, source: Path = NOTEBOOKS_DIR) -> WorkingCopy:
    """Copy liveexec's notebooks (``*.py``, jupytext percent) into ``directory`` where missing;
    an existing copy is never overwritten. Serving ``source`` itself copies nothing."""
    directory.mkdir(parents=True, exist_ok=True)
    result = WorkingCopy(directory)
    if directory.resolve() == source.resolve():
        result.kept = sorted(path.name for path in source.glob("*.py"))
        return result
    for notebook in sorted(source.glob("*.py")):
        text = _resolved_config_line(notebook.read_text(encoding="utf-8"), notebook.parent)
        target = directory / notebook.name
        if target.exists():
            result.kept.append(notebook.name)
            if target.read_text(encoding="utf-8") != text:
                result.edited.append(notebook.name)
            continue
        target.write_text(text, encoding="utf-8")
        result.copied.append(notebook.name)
    return result


def _write_json(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(content, indent=1) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def jupyter_environment(home: Path, environ: dict[str, str]) -> dict[str, str]:
    """``environ`` plus the Jupyter paths of this interpreter's private folder under ``home``:
    a ``python3`` kernelspec running ``sys.executable`` (it shadows any other ``python3``, for
    this server only), jupytext's server extension enabled, and .py files opening as
    notebooks by default."""
    tag = hashlib.sha256(sys.executable.encode()).hexdigest()[:12]
    private = home / "jupyter" / tag
    data, config = private / "data", private / "config"
    _write_json(
        data / "kernels" / "python3" / "kernel.json",
        {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (liveexec)",
            "language": "python",
            "metadata": {"debugger": True},
        },
    )
    _write_json(
        config / "jupyter_server_config.json",
        {"ServerApp": {"jpserver_extensions": {"jupyterlab_jupytext": True}}},
    )
    _write_json(config / "labconfig" / "default_setting_overrides.json", _LAB_DEFAULTS)
    env = dict(environ)
    for name, path in (("JUPYTER_PATH", data), ("JUPYTER_CONFIG_PATH", config)):
        env[name] = os.pathsep.join(p for p in (str(path), environ.get(name, "")) if p)
    return env


def _as_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0


def _allows_root(arg: str) -> bool:
    """Whether a `jupyter lab` argument already says whether root may run it."""
    return arg in ("--allow-root", "--no-allow-root") or arg.startswith(
        ("--ServerApp.allow_root", "--NotebookApp.allow_root")
    )


_INSTALL = escape("pip install 'liveexec[notebook]'")
_HELP = "\n\n".join(
    [
        "Start JupyterLab on liveexec's notebooks, with a kernel that has liveexec.",
        "The notebooks (jupytext percent .py files: 01_explore, 02_backtest, 03_paper_validate, "
        "04_promote) are copied into --notebook-dir where missing, so liveexec's own copies "
        f"({NOTEBOOKS_DIR}) are never edited in place; a copy you edited is kept (delete it to "
        "get liveexec's version again). In the copies, the `config` parameter names the bundled "
        "example config by its absolute path: set it to your own config. Give liveexec's "
        "notebooks folder as --notebook-dir to edit those in place.",
        'The kernel ("Python 3 (liveexec)", kernelspec name python3, the one the notebooks ask '
        f"for) runs this interpreter ({sys.executable}). It and the settings this server needs "
        "(jupytext's server extension on; .py files open as notebooks by default, which your "
        "own JupyterLab settings override) are written to $LIVEEXEC_HOME/jupyter/ and given to "
        "this server only, through JUPYTER_PATH and JUPYTER_CONFIG_PATH: your Jupyter "
        "configuration (~/.jupyter, installed kernelspecs) is not changed. Jupyter still reads "
        "your own configuration, and JUPYTER_TOKEN, as usual.",
        "Arguments after `--` go to `jupyter lab` unchanged, e.g. "
        "`liveexec lab -- --ServerApp.ip=0.0.0.0`. As root (the default in containers), "
        "--allow-root is passed to JupyterLab unless you pass an allow_root setting yourself. "
        "Ctrl-C stops the server (Jupyter asks to "
        "confirm). Exit 2 if the notebook extra is missing or --notebook-dir is not a writable "
        "folder; otherwise JupyterLab's own exit code.",
        f"Needs the notebook extra: {_INSTALL}.",
    ]
)


def lab_command(
    *,
    notebook_dir: Annotated[
        Path | None,
        typer.Option(
            "--notebook-dir",
            help="Folder to serve; liveexec's notebooks are copied into it where missing. "
            "Default: $LIVEEXEC_HOME/notebooks (e.g. ~/.local/share/liveexec/notebooks).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Port to listen on, exactly (fails if taken). Default: Jupyter's 8888, or the "
            "next free one.",
            show_default=False,
        ),
    ] = None,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open JupyterLab in a web browser.")
    ] = True,
    jupyter_args: Annotated[
        list[str] | None,
        typer.Argument(help="Passed to `jupyter lab` (after `--`).", show_default=False),
    ] = None,
) -> None:
    from liveexec.config import liveexec_home  # noqa: PLC0415 (cheap --help)

    err = Console(stderr=True)
    missing = [name for name in _REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        err.print(
            f"[bold red]error:[/] {', '.join(missing)} not installed: {_INSTALL}",
            highlight=False,
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    home = liveexec_home()
    directory = (notebook_dir or home / "notebooks").expanduser().absolute()
    if directory.exists() and not directory.is_dir():
        err.print(
            f"[bold red]error:[/] --notebook-dir {escape(str(directory))} is not a folder",
            highlight=False,
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        copy = prepare_working_copy(directory)
        env = jupyter_environment(home, dict(os.environ))
    except OSError as exc:  # a folder that cannot be written
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if copy.copied:
        err.print(f"copied {', '.join(copy.copied)} into {directory}", markup=False)
    if copy.edited:
        err.print(
            f"kept your edited {', '.join(copy.edited)} (delete a file to get liveexec's "
            "version again)",
            markup=False,
        )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={directory}",
        f"--ServerApp.open_browser={browser}",
    ]
    if port is not None:
        command += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    command += jupyter_args or []
    if _as_root() and not any(_allows_root(arg) for arg in jupyter_args or []):
        # Containers run as root by default, and Jupyter refuses root without this flag.
        command.append("--allow-root")
        err.print("running as root: passing --allow-root to JupyterLab", markup=False)
    err.print(f"JupyterLab on {directory}, kernel {sys.executable}", markup=False)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        # JupyterLab takes this process over: Ctrl-C and SIGTERM reach it directly, and its
        # exit code is the command's.
        os.execve(sys.executable, command, env)  # noqa: S606 (this interpreter, our arguments)
    # Windows has no exec that keeps the console's Ctrl-C: run JupyterLab as a child instead.
    raise typer.Exit(subprocess.call(command, env=env))  # noqa: S603 (as above)


lab_command.__doc__ = _HELP
