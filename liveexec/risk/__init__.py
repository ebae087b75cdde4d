"""liveexec's pre-trade risk gate: limits, trading states and the kill switch, the same in
backtest, paper and live nodes."""

from liveexec.risk._build import build_risk_gate, limits_from_config, needs_risk_gate
from liveexec.risk._denials import DenialStreaks, reason_kind
from liveexec.risk._gate import RiskGate
from liveexec.risk._model import RiskModel
from liveexec.risk._state_store import (
    ActiveHalt,
    MemoryStateStore,
    SqlStateStore,
    StateStore,
)
from liveexec.risk._store import (
    HaltWatcher,
    LossMarkWriter,
    active_halt,
    current_user,
    halt,
    last_loss_mark,
    last_state,
    record_loss_mark,
    record_state_changes,
    resume,
)
from liveexec.risk._types import (
    InstrumentInfo,
    InstrumentLimits,
    LossMark,
    OrderIntent,
    RiskLimits,
    StateChange,
    StrategyLimits,
    TradingState,
)

__all__ = [
    "ActiveHalt",
    "DenialStreaks",
    "HaltWatcher",
    "InstrumentInfo",
    "InstrumentLimits",
    "LossMark",
    "LossMarkWriter",
    "MemoryStateStore",
    "OrderIntent",
    "RiskGate",
    "RiskLimits",
    "RiskModel",
    "SqlStateStore",
    "StateChange",
    "StateStore",
    "StrategyLimits",
    "TradingState",
    "active_halt",
    "build_risk_gate",
    "current_user",
    "halt",
    "last_loss_mark",
    "last_state",
    "limits_from_config",
    "needs_risk_gate",
    "reason_kind",
    "record_loss_mark",
    "record_state_changes",
    "resume",
]
