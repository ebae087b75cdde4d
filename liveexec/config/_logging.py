"""``logging``: where NautilusTrader's log lines go."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from liveexec.config._base import FrozenModel

__all__ = ["LogLevel", "LoggingConfig"]

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class LoggingConfig(FrozenModel):
    """Where NautilusTrader's log lines go. Not part of ``config_id``.

    NautilusTrader sets its logger up once per process: the first run's ``level``,
    ``file_level``, ``directory`` and ``colors`` hold for later runs in the same process (a
    notebook kernel); each run still gets its own file, the lines written while it ran.
    """

    level: LogLevel = Field(
        default="ERROR",
        description=(
            "Lines at or above this level are printed (terminal or notebook cell). Warnings "
            "below it are kept in the run's log file (with file_level WARNING, the default) and "
            "counted by kind in the run's summary (a strategy that warns on every bar would "
            "print thousands of lines)."
        ),
    )
    file_level: LogLevel | None = Field(
        default="WARNING",
        description=(
            "Lines at or above this level go to the run's log file, '<directory>/<run_id>.log'; "
            "null: no log file. INFO keeps every order, fill and bar line NautilusTrader and the "
            "strategies log, at a cost: about a quarter of the CPU time of a backtest that logs "
            "each bar."
        ),
    )
    directory: str | None = Field(
        default=None,
        min_length=1,
        description="Folder of the run log files; default '$LIVEEXEC_HOME/logs'.",
    )
    denials_in_full: int = Field(
        default=20,
        ge=1,
        le=1_000_000,
        description=(
            "How many consecutive denials of one strategy's orders on one instrument, for one "
            "kind of reason, are recorded as DENIED orders; the rest of the streak is counted "
            "in the 'denial_streaks' table (a strategy that keeps submitting while halted "
            "cannot flood the tables). The promotion gate counts every denial either way."
        ),
    )
    colors: bool | None = Field(
        default=None,
        description=(
            "ANSI colours in printed lines; default: only when standard output is a terminal "
            "(never in a notebook cell or a redirected file)."
        ),
    )
