"""Runs: their ledger rows, and their results read back from the database."""

from liveexec.runs._lease import (
    Lease,
    LeaseHeldError,
    LeaseOwner,
    NoRunningNodeError,
    acquire_lease,
    lease_owner,
    leased_run,
    release_lease,
    request_stop,
)
from liveexec.runs._ledger import close_run, list_runs, open_run, reap_abandoned
from liveexec.runs._read import read_table
from liveexec.runs._results import RunResult, compute_statistics, load, load_run
from liveexec.runs._supervisor import Supervisor

__all__ = [
    "Lease",
    "LeaseHeldError",
    "LeaseOwner",
    "NoRunningNodeError",
    "RunResult",
    "Supervisor",
    "acquire_lease",
    "close_run",
    "compute_statistics",
    "lease_owner",
    "leased_run",
    "list_runs",
    "load",
    "load_run",
    "open_run",
    "read_table",
    "reap_abandoned",
    "release_lease",
    "request_stop",
]
