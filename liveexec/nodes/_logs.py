"""NautilusTrader's log: printed above the configured level, and a file kept with each run.

NautilusTrader's logger is process-wide and set up once (its Rust logger cannot be set up
twice): the first node of a process fixes the levels, the colours and the file. liveexec gives
that logger one file per process, ``nautilus-<pid>.log`` in the log directory, and copies the
lines each run wrote into the run's own file, ``<run_id>.log``, when the run ends; so a
notebook kernel that runs several backtests still gets one log file per run. The process's file
holds nothing else worth keeping, and is removed when the process exits (a log directory would
otherwise keep a second copy of every run's lines).

Warnings are written to the file and, by default (``logging.level: ERROR``), not printed: a
strategy that warns on every bar would bury the run's output in thousands of lines. Each run's
warnings are counted by kind (:func:`count_warnings`) for its summary instead.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from nautilus_trader.common.component import (
    flush_logger,
    is_logging_initialized,
    sync_logger_to_disk,
)
from nautilus_trader.common.config import LoggingConfig as NautilusLoggingConfig

from liveexec.config import LoggingConfig, liveexec_home
from liveexec.runs import LogWarnings

__all__ = ["RunLog", "count_warnings", "nautilus_logging_config", "run_log_directory"]

# A line of NautilusTrader's log file: "<time> [WARN] <trader>.<component>: <message>".
_WARNING = re.compile(rb"^\S+ \[WARN\] (?P<component>[^:]*): (?P<message>.*?)\s*$")
_NUMBER = re.compile(r"\d+")


def run_log_directory(logging: LoggingConfig) -> Path:
    """The folder of the run log files: the config's, else ``$LIVEEXEC_HOME/logs``."""
    if logging.directory is not None:
        return Path(logging.directory).expanduser()
    return liveexec_home() / "logs"


def _process_log_name() -> str:
    return f"nautilus-{os.getpid()}"


def _colors(logging: LoggingConfig) -> bool:
    if logging.colors is not None:
        return logging.colors
    # A notebook kernel's stdout is a pipe, not a terminal: no escape codes in cells.
    return sys.stdout.isatty()


def nautilus_logging_config(logging: LoggingConfig) -> NautilusLoggingConfig:
    """NautilusTrader's ``LoggingConfig`` for the liveexec ``logging`` section."""
    if logging.file_level is None:
        return NautilusLoggingConfig(log_level=logging.level, log_colors=_colors(logging))
    return NautilusLoggingConfig(
        log_level=logging.level,
        log_level_file=logging.file_level,
        log_directory=str(run_log_directory(logging)),
        log_file_name=_process_log_name(),
        log_colors=_colors(logging),
    )


@dataclass
class RunLog:
    """The lines NautilusTrader writes between :meth:`start` and :meth:`finish`, kept as the
    run's own log file."""

    logging: LoggingConfig
    run_id: str
    file: Path | None = None  # the run's log file, once finished (None: no file)
    warnings: LogWarnings | None = None  # its warnings by kind, once finished (None: no file)
    _offset: int = 0
    _source: Path | None = None

    def start(self) -> None:
        """Call before the node is built (it sets NautilusTrader's logger up if nothing has)."""
        if self.logging.file_level is None and not is_logging_initialized():
            return
        directory = run_log_directory(self.logging)
        directory.mkdir(parents=True, exist_ok=True)
        # The process's file is the one of the run that set the logger up, wherever it was.
        self._source = self._find_process_log(directory)
        self._offset = self._source.stat().st_size if self._source.exists() else 0

    def _find_process_log(self, directory: Path) -> Path:
        name = f"{_process_log_name()}.log"
        if is_logging_initialized():
            found = _PROCESS_LOG.get(os.getpid())
            if found is not None:
                return found
        path = directory / name
        if not _PROCESS_LOG:
            atexit.register(_remove_process_logs)
        _PROCESS_LOG[os.getpid()] = path
        return path

    def finish(self) -> Path | None:
        """Copy the run's lines into ``<directory>/<run_id>.log``; its path (also kept in
        :attr:`file`), or None if NautilusTrader writes no file in this process."""
        self.file = self._copy()
        if self.file is not None:
            try:
                self.warnings = count_warnings(self.file)
            except OSError:
                self.warnings = None
        return self.file

    def _copy(self) -> Path | None:
        if self._source is None or not is_logging_initialized():
            return None
        flush_logger()
        sync_logger_to_disk()
        if not self._source.exists():
            return None
        target = run_log_directory(self.logging) / f"{self.run_id}.log"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with self._source.open("rb") as source, target.open("wb") as out:
                source.seek(self._offset)
                while chunk := source.read(1 << 20):
                    out.write(chunk)
        except OSError:
            # The log is evidence, not the run: a full disk here must not fail a finished run.
            return None
        return target


def count_warnings(path: Path) -> LogWarnings:
    """The WARNING lines of a NautilusTrader log file, counted by kind: one component's message
    with its numbers (ids, prices, counts) set aside, so a warning repeated on every bar is
    one kind. Lines that are not warnings (or continue a multi-line message) are skipped."""
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], str] = {}
    with path.open("rb") as lines:
        for line in lines:
            if b"[WARN]" not in line:
                continue
            found = _WARNING.match(line)
            if found is None:
                continue
            message = found["message"].decode("utf-8", "replace")
            kind = (found["component"].decode("utf-8", "replace"), _NUMBER.sub("#", message))
            counts[kind] += 1
            first.setdefault(kind, message)
    kinds = tuple((first[kind], count) for kind, count in counts.most_common())
    return LogWarnings(total=counts.total(), kinds=kinds, file=path)


# pid -> the file NautilusTrader's logger writes in this process (set by its first node).
_PROCESS_LOG: dict[int, Path] = {}


def _remove_process_logs() -> None:
    """At exit: every run's lines are in its own file by now."""
    path = _PROCESS_LOG.get(os.getpid())  # a forked child's exit leaves its parent's file
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()
