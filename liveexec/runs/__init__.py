"""Runs: their ledger rows, leases and supervisor, and their results read back from the
database."""

from liveexec.runs._format import money as format_money
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
from liveexec.runs._ledger import (
    HOST,
    close_run,
    list_runs,
    open_run,
    process_start,
    reap_abandoned,
    resolve_run_id,
    strategy_parameters,
)
from liveexec.runs._prices import MarketData, PriceSeries, read_market_data
from liveexec.runs._read import read_table
from liveexec.runs._results import RunResult, load, load_run
from liveexec.runs._statistics import (
    DAYS_PER_YEAR,
    STATISTIC_FIELDS,
    MarkedEquity,
    Statistics,
    compute_statistics,
    marked_equity,
)
from liveexec.runs._supervisor import Supervisor
from liveexec.runs._warnings import LogWarnings

__all__ = [
    "DAYS_PER_YEAR",
    "HOST",
    "STATISTIC_FIELDS",
    "Lease",
    "LeaseHeldError",
    "LeaseOwner",
    "LogWarnings",
    "MarkedEquity",
    "MarketData",
    "NoRunningNodeError",
    "PriceSeries",
    "RunResult",
    "Statistics",
    "Supervisor",
    "acquire_lease",
    "close_run",
    "compute_statistics",
    "format_money",
    "lease_owner",
    "leased_run",
    "list_runs",
    "load",
    "load_run",
    "marked_equity",
    "open_run",
    "process_start",
    "read_market_data",
    "read_table",
    "reap_abandoned",
    "release_lease",
    "request_stop",
    "resolve_run_id",
    "strategy_parameters",
]
