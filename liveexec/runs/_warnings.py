"""The warnings a run logged, counted by kind: kept in its log file, summed up for people."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["LogWarnings"]

_SHOWN_KINDS = 3
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class LogWarnings:
    """NautilusTrader's WARNING lines of one run, counted by kind (the same message from the
    same component, numbers aside), most frequent first. The lines themselves are in
    :attr:`file`; liveexec prints them only at ``logging.level: WARNING`` or below."""

    total: int
    kinds: tuple[tuple[str, int], ...]  # (the first message of the kind, its count)
    file: Path

    def text(self) -> str:
        """One line, e.g. ``3,412 (3,400 'Bar OHLC is single price; ...'; see FILE)``."""
        shown = [f"{count:,} {_quoted(message)}" for message, count in self.kinds[:_SHOWN_KINDS]]
        rest = len(self.kinds) - _SHOWN_KINDS
        if rest > 0:
            shown.append(f"{rest:,} more kind{'s' if rest > 1 else ''}")
        return f"{self.total:,} ({'; '.join([*shown, f'see {self.file}'])})"


def _quoted(message: str) -> str:
    if len(message) > _SHOWN_CHARS:
        message = message[: _SHOWN_CHARS - 3].rstrip() + "..."
    return f"'{message}'"
