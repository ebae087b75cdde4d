"""What every NautilusTrader node liveexec builds shares, whatever the mode: components and
instruments from the config, the simulated world (venues, data queries, NautilusTrader's risk
engine), NautilusTrader's log per run, the checks made before anything is written, and the
recorder and risk gate attached to the kernel. ``backtesting`` and ``trading`` build on it and
never on each other."""

from liveexec.nodes._compat import speed_up_backtest_engine, tuned_gc
from liveexec.nodes._components import Components, build_components
from liveexec.nodes._instruments import build_instrument, defined_instruments
from liveexec.nodes._logs import RunLog, nautilus_logging_config, run_log_directory
from liveexec.nodes._preflight import (
    DATABASE_CHECKS,
    PREFLIGHT_CHECKS,
    Preflight,
    Stage,
    check_mode,
    instrument_differences,
    preflight,
    stage_of,
)
from liveexec.nodes._run_config import (
    DATA_CLASSES,
    build_risk_engine_config,
    build_run_config,
    live_risk_engine_config,
    venue_config,
)
from liveexec.nodes._session import NodeRun, RunSession, run_node
from liveexec.nodes._wiring import add_recorder_and_gate, node_reading, with_config_instruments

__all__ = [
    "DATABASE_CHECKS",
    "DATA_CLASSES",
    "PREFLIGHT_CHECKS",
    "Components",
    "NodeRun",
    "Preflight",
    "RunLog",
    "RunSession",
    "Stage",
    "add_recorder_and_gate",
    "build_components",
    "build_instrument",
    "build_risk_engine_config",
    "build_run_config",
    "check_mode",
    "defined_instruments",
    "instrument_differences",
    "live_risk_engine_config",
    "nautilus_logging_config",
    "node_reading",
    "preflight",
    "run_log_directory",
    "run_node",
    "speed_up_backtest_engine",
    "stage_of",
    "tuned_gc",
    "venue_config",
    "with_config_instruments",
]
