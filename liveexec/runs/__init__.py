"""Runs: their ledger rows, and their results read back from the database."""

from liveexec.runs._ledger import Heartbeat, close_run, list_runs, open_run, reap_abandoned
from liveexec.runs._read import read_table
from liveexec.runs._results import RunResult, compute_statistics, load, load_run

__all__ = [
    "Heartbeat",
    "RunResult",
    "close_run",
    "compute_statistics",
    "list_runs",
    "load",
    "load_run",
    "open_run",
    "read_table",
    "reap_abandoned",
]
