"""The risk gate of a config: its limits, read from the ``risk`` section."""

from __future__ import annotations

from sqlalchemy import Engine

from liveexec.config import LiveexecConfig, RiskConfig
from liveexec.risk._exposure import DatabaseExposureCheck, DatabaseExposureLimits
from liveexec.risk._gate import RiskGate
from liveexec.risk._state_store import StateStore
from liveexec.risk._types import InstrumentLimits, RiskLimits, StrategyLimits, TradingState

__all__ = ["build_risk_gate", "database_exposure_check", "limits_from_config", "needs_risk_gate"]


def limits_from_config(risk: RiskConfig) -> RiskLimits:
    return RiskLimits(
        instruments={
            iid: InstrumentLimits(**limits.model_dump()) for iid, limits in risk.instruments.items()
        },
        strategies={
            sid: StrategyLimits(**limits.model_dump()) for sid, limits in risk.strategies.items()
        },
        max_open_orders=risk.max_open_orders,
        max_gross_exposure=risk.max_gross_exposure,
        max_net_exposure=risk.max_net_exposure,
        max_daily_loss=risk.max_daily_loss,
        max_drawdown=risk.max_drawdown,
        loss_action=TradingState[risk.loss_action],
        max_price_age_ns=(
            int(risk.max_price_age_s * 1_000_000_000) if risk.max_price_age_s is not None else None
        ),
    )


def _kill_switch_on(cfg: LiveexecConfig) -> bool:
    switch = cfg.risk.kill_switch
    return switch.enabled and (cfg.mode != "backtest" or switch.in_backtest)


def _database_exposure_on(cfg: LiveexecConfig) -> bool:
    limits = cfg.risk.database_exposure
    return limits is not None and (cfg.mode != "backtest" or limits.in_backtest)


def needs_risk_gate(cfg: LiveexecConfig) -> bool:
    """Whether a node of ``cfg`` runs liveexec's risk gate: any in-memory limit, the kill
    switch (paper and live; backtests only with ``kill_switch.in_backtest``) or the
    database-wide exposure limit (the same, with ``database_exposure.in_backtest``)."""
    return cfg.risk.gate_checks() or _kill_switch_on(cfg) or _database_exposure_on(cfg)


def database_exposure_check(
    cfg: LiveexecConfig, database: Engine | None
) -> DatabaseExposureCheck | None:
    """The database-wide exposure check of ``cfg``'s node, or None when it does not apply."""
    limits = cfg.risk.database_exposure
    if limits is None or not _database_exposure_on(cfg):
        return None
    return DatabaseExposureCheck(
        DatabaseExposureLimits(
            max_gross=limits.max_gross,
            max_net=limits.max_net,
            modes=tuple(limits.modes),
            refresh_interval_s=limits.refresh_interval_s,
            max_staleness_s=limits.max_staleness_s,
        ),
        database,
        cfg.trader_id,
    )


def build_risk_gate(
    cfg: LiveexecConfig, *, run_id: str | None, database: Engine | StateStore | None
) -> RiskGate:
    """The gate for a node of ``cfg``; add it to the trader, then ``attach`` it to the
    kernel's risk engine before the node starts. ``database``: the node's (an engine), or a
    state store for halts, state changes and loss marks without one (``MemoryStateStore``:
    the database-wide exposure check, which reads other traders' rows, then fails closed)."""
    return RiskGate(
        limits_from_config(cfg.risk),
        reporting_currency=cfg.risk.reporting_currency,
        trader_id=cfg.trader_id,
        mode=cfg.mode,
        run_id=run_id,
        database=database,
        kill_switch=_kill_switch_on(cfg),
        poll_interval_s=cfg.risk.kill_switch.poll_interval_s,
        check_funds=cfg.risk.check_available_balance,
        database_exposure=database_exposure_check(
            cfg, database if isinstance(database, Engine) else None
        ),
    )
