"""A progress bar for runs started in a notebook kernel (Jupyter, papermill).

Plain HTML updated in place through IPython's display machinery: no widget library, so the
bar's last state is kept in executed notebooks and their HTML exports.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["notebook_progress", "progress_html"]

_MIN_INTERVAL_S = 0.25


def _kernel_shell() -> Any | None:  # noqa: ANN401 (IPython's shell is untyped here)
    """IPython's shell when this runs inside a Jupyter kernel, else None (terminal, script)."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return None
    shell = ipython.get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return None
    return shell


def progress_html(fraction: float, elapsed_s: float) -> str:
    percent = max(0.0, min(fraction, 1.0)) * 100
    return (
        '<div style="font-family:monospace">'
        f'<progress value="{percent:.0f}" max="100" style="width:40ch"></progress> '
        f"{percent:5.1f}% of the data simulated, {elapsed_s:.1f} s</div>"
    )


def notebook_progress() -> Callable[[float], None] | None:
    """A callback drawing a progress bar in the current cell, or None outside a kernel."""
    if _kernel_shell() is None:
        return None
    from IPython.display import HTML, display  # noqa: PLC0415 (only inside a kernel)

    started = time.monotonic()
    page = HTML(progress_html(0.0, 0.0))  # type: ignore[no-untyped-call]  # IPython's display API is untyped
    handle = display(page, display_id=True)  # type: ignore[no-untyped-call]  # IPython's display API is untyped
    last = [0.0]

    def update(fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - last[0] < _MIN_INTERVAL_S:
            return
        last[0] = now
        if handle is not None:
            handle.update(HTML(progress_html(fraction, now - started)))  # type: ignore[no-untyped-call]  # IPython's display API is untyped

    return update
