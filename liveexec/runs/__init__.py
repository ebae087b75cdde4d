"""Runs: their ledger rows, and their results read back from the database."""

from liveexec.runs._format import money as format_money
from liveexec.runs._ledger import (
    Heartbeat,
    close_run,
    list_runs,
    open_run,
    reap_abandoned,
    resolve_run_id,
    strategy_parameters,
)
from liveexec.runs._read import read_table
from liveexec.runs._results import RunResult, load, load_run
from liveexec.runs._statistics import (
    DAYS_PER_YEAR,
    STATISTIC_FIELDS,
    Statistics,
    compute_statistics,
)

__all__ = [
    "DAYS_PER_YEAR",
    "STATISTIC_FIELDS",
    "Heartbeat",
    "RunResult",
    "Statistics",
    "close_run",
    "compute_statistics",
    "format_money",
    "list_runs",
    "load",
    "load_run",
    "open_run",
    "read_table",
    "reap_abandoned",
    "resolve_run_id",
    "strategy_parameters",
]
