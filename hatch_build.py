"""Build-time check that names the Python liveexec needs, before pip resolves anything.

pip checks a local project's ``requires-python`` only after its dependencies: pip 23 (the one
Python 3.11's venv brings) first finds that ``nautilus-trader>=1.231`` has no release for the
running Python and stops with ``ResolutionImpossible``, never saying why. Building the project's
metadata comes before that, on the Python the user runs: this hook stops there with one line.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface

REQUIRED = (3, 12)


class PythonVersionCheck(MetadataHookInterface):
    """Refuses to build liveexec's metadata on a Python older than it needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 (hatchling's signature)
        if sys.version_info < REQUIRED:
            raise SystemExit(
                f"liveexec needs Python {REQUIRED[0]}.{REQUIRED[1]}+ (NautilusTrader 1.231 does); "
                f"this is Python {platform.python_version()}. Create the virtual environment "
                f"with a newer interpreter, e.g. `python3.12 -m venv .venv`."
            )
        super().__init__(*args, **kwargs)

    def update(self, metadata: dict[str, Any]) -> None:
        """Nothing to change: the check is all this hook does."""
