"""Example configs bundled with liveexec (used by ``liveexec demo`` and the tests)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["EXAMPLES_DIR", "example_configs"]

EXAMPLES_DIR = Path(__file__).resolve().parent


def example_configs() -> list[Path]:
    """The bundled example config files, sorted by name."""
    return sorted(EXAMPLES_DIR.glob("*.yaml"))
