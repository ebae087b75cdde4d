"""Every test here executes notebooks (papermill, Jupyter kernels): the nox 'notebooks' session
runs them, once, on one interpreter; the 'tests' sessions leave them out."""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.notebooks)
