"""Exceptions, grouped by what the caller should do about them.

- :class:`ConfigError`: fix the configuration (file, field or environment variable named).
- :class:`DataError`: fix the market data file (file, row and column named); nothing was written.
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
    "DataError",
    "DatabaseError",
    "DatabaseUnavailableError",
    "LiveexecError",
    "RunFailedError",
    "RunInterrupted",
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


class DataError(LiveexecError):
    """A market data file cannot be imported as it is; nothing was written to the catalog.

    ``row`` is 1-based: the line of a text file (header included) or the row of a parquet file,
    as ``row_label`` says. ``expected`` describes the layout the reader expected.
    """

    def __init__(
        self,
        file: str,
        message: str,
        *,
        row: int | None = None,
        row_label: str = "line",
        column: str | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.expected = expected
        self.hint = hint
        self.problem = message
        where = [file]
        if row is not None:
            where.append(f"{row_label} {row}")
        if column is not None:
            where.append(f"column {column!r}")
        lines = [f"{', '.join(where)}: {message}"]
        if hint:
            lines.append(f"  hint: {hint}")
        if expected:
            lines.append(f"  expected layout: {expected}")
        super().__init__("\n".join(lines))


class RunFailedError(LiveexecError):
    """A run started but did not complete; its ``runs`` row says ``failed`` with this error."""

    def __init__(self, run_id: str, error: str) -> None:
        self.run_id = run_id
        self.error = error
        super().__init__(f"run {run_id} failed: {error}")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a run; ``status`` is what its ``runs`` row says now.

    A ``KeyboardInterrupt``, so code that handles Ctrl-C keeps working; it says which run and
    how it was recorded (``interrupted``, or ``completed`` when the run had already ended).
    """

    def __init__(self, run_id: str, status: str) -> None:
        self.run_id = run_id
        self.status = status
        super().__init__(f"run {run_id} interrupted; recorded as {status!r}")


class DatabaseError(LiveexecError):
    """The database cannot be used as it is; the message says what to do."""


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached or opened."""


class SchemaOutOfDateError(DatabaseError):
    """The database schema is not at the revision this version of liveexec needs."""
