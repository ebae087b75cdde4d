"""Exceptions, grouped by what the caller should do about them.

- :class:`ConfigError`: fix the configuration (file, field or environment variable named).
- :class:`DatabaseError`: fix or reach the database (run a migration, start the server).
- :class:`RunFailedError`: a run stopped on an error; what it recorded until then is kept.
- :class:`LiveexecError`: the common base, for callers that want to catch everything of ours.

Risk denials are never exceptions: they are recorded events (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "DatabaseError",
    "DatabaseUnavailableError",
    "LiveexecError",
    "RunFailedError",
    "SchemaOutOfDateError",
]


class LiveexecError(Exception):
    """Base class of every error liveexec raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration: where it is, what is wrong, and what is allowed."""

    location: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(LiveexecError):
    """A configuration is malformed or incomplete. Every issue found is reported together."""

    def __init__(self, source: str, issues: Sequence[ConfigIssue]) -> None:
        self.source = source
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        count = len(self.issues)
        lines = [f"{source}: {count} configuration error{'s' if count != 1 else ''}"]
        lines.extend(f"  - {issue}" for issue in self.issues)
        super().__init__("\n".join(lines))


class RunFailedError(LiveexecError):
    """A run started but did not complete; its ``runs`` row says ``failed`` with this error."""

    def __init__(self, run_id: str, error: str) -> None:
        self.run_id = run_id
        self.error = error
        super().__init__(f"run {run_id} failed: {error}")


class DatabaseError(LiveexecError):
    """The database cannot be used as it is; the message says what to do."""


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached or opened."""


class SchemaOutOfDateError(DatabaseError):
    """The database schema is not at the revision this version of liveexec needs."""
