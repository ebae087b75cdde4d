"""``liveexec.risk``'s public names are the ones meant (the parts of the model, the stores'
implementations and the gate's internals stay in private modules)."""

from __future__ import annotations

import liveexec.risk as risk

PUBLIC = {
    # the gate and its configuration
    "RiskGate",
    "build_risk_gate",
    "limits_from_config",
    "needs_risk_gate",
    # the limits model and its value types
    "RiskModel",
    "InstrumentInfo",
    "InstrumentLimits",
    "LossMark",
    "OrderIntent",
    "RiskLimits",
    "StateChange",
    "StrategyLimits",
    "TradingState",
    # halts, state changes and loss marks: the stores, their threads, the SQL calls
    "StateStore",
    "SqlStateStore",
    "MemoryStateStore",
    "ActiveHalt",
    "HaltWatcher",
    "LossMarkWriter",
    "active_halt",
    "current_user",
    "halt",
    "last_loss_mark",
    "last_state",
    "record_loss_mark",
    "record_state_changes",
    "resume",
    # denial streaks: the gate's count of repeated denials (the recorder writes their rows)
    "DenialStreaks",
    "reason_kind",
}


def test_all_is_what_we_mean_to_export() -> None:
    assert set(risk.__all__) == PUBLIC
    assert len(risk.__all__) == len(PUBLIC)
    for name in risk.__all__:
        assert getattr(risk, name) is not None, name
