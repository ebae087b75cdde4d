"""`pip install` of liveexec on a Python it cannot run on says which Python it needs, first
(issue 20 §5). pip checks the project's own requires-python only after its dependencies, and
pip 23 (Python 3.11's) stops on NautilusTrader 1.231 having no 3.11 release: ResolutionImpossible,
with no word of Python. hatch_build.py stops the metadata build before that."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _python_311() -> str | None:
    candidates = [
        "/usr/bin/python3",
        shutil.which("python3.11"),
        *sorted(str(p) for p in (Path.home() / ".pyenv" / "versions").glob("3.11.*/bin/python3")),
    ]
    for candidate in candidates:
        if candidate is None or not os.access(candidate, os.X_OK):
            continue
        version = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if version.stdout.strip() == "True":
            return candidate
    return None


def test_pip_on_python_311_names_python_312_first(tmp_path: Path) -> None:
    python = _python_311()
    if python is None:
        pytest.skip("no Python 3.11 interpreter here")
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    # The README's install command, as a user types it on a machine whose python3 is 3.11.
    done = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--dry-run",
            "-c",
            "requirements.lock",
            "-e",
            ".[notebook]",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "ResolutionImpossible" not in output
    needs = output.find("liveexec needs Python 3.12+")
    assert needs >= 0, output
    assert "this is Python 3.11." in output
    # The first error pip reports is that line (pip's own "error:" framing comes with it).
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert not any("nautilus" in line for line in errors), errors
