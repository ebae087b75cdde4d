"""Operations: what the command line (and the REST API after it) does, as typed functions that
return data and raise liveexec's errors. Front ends are thin layers over this module.

    from liveexec import ops
    with ops.database(purpose="read") as engine:
        frame = ops.list_runs(engine, mode="backtest", limit=10)
        result = ops.show_run(engine, "5a6d7155")         # a unique prefix
        ops.stop_node(engine, "TRADER-001", wait=True)
"""

from liveexec.analysis import compare
from liveexec.ops._control import Resumed, Stop, halt_trader, resume_trader, stop_node
from liveexec.ops._database import Purpose, database
from liveexec.ops._runs import Deletion, delete_runs, prunable_runs, reap, show_run
from liveexec.promotion import (
    decide,
    get_promotion,
    list_promotions,
    promote,
    require_approved,
    verify,
)
from liveexec.runs import list_runs, resolve_run_id

__all__ = [
    "Deletion",
    "Purpose",
    "Resumed",
    "Stop",
    "compare",
    "database",
    "decide",
    "delete_runs",
    "get_promotion",
    "halt_trader",
    "list_promotions",
    "list_runs",
    "promote",
    "prunable_runs",
    "reap",
    "require_approved",
    "resolve_run_id",
    "resume_trader",
    "show_run",
    "stop_node",
    "verify",
]
