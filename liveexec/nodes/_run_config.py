"""The simulated world of a config as NautilusTrader's ``BacktestRunConfig``: venues with their
fill and fee models, catalog queries per data stream, components, NautilusTrader's own risk
engine. A backtest runs it with ``BacktestNode``; a paper node replays the same data queries
into the same venues (liveexec.trading), so the two cannot drift apart."""

from __future__ import annotations

import msgspec
from nautilus_trader.backtest.config import (
    BacktestDataConfig,
    BacktestEngineConfig,
    BacktestRunConfig,
    BacktestVenueConfig,
    ImportableFeeModelConfig,
    ImportableFillModelConfig,
)
from nautilus_trader.config import LiveRiskEngineConfig
from nautilus_trader.model.data import Bar, QuoteTick, TradeTick
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.risk.config import RiskEngineConfig

from liveexec.config import DataStreamConfig, LiveexecConfig, RiskConfig, VenueConfig
from liveexec.nodes._components import build_components
from liveexec.nodes._logs import nautilus_logging_config

__all__ = [
    "DATA_CLASSES",
    "build_risk_engine_config",
    "build_run_config",
    "live_risk_engine_config",
    "venue_config",
]

# The classes themselves, never their import paths: NautilusTrader 1.231 applies a bars stream's
# `bar_types` filter only when `data_cls is Bar` (its issue #3263). Given the path text, every
# bars stream of an instrument loads all its bar types (BID and ASK streams: every bar twice).
DATA_CLASSES: dict[str, type] = {"bars": Bar, "quotes": QuoteTick, "trades": TradeTick}


def venue_config(venue: VenueConfig) -> BacktestVenueConfig:
    """A simulated venue: the backtest's, and the paper venue's models and balances."""
    fill = venue.fill_model
    fill_config: dict[str, object] = {
        "prob_fill_on_limit": fill.prob_fill_on_limit,
        "prob_slippage": fill.prob_slippage,
    }
    if fill.random_seed is not None:
        fill_config["random_seed"] = fill.random_seed
    if venue.fee_model.kind == "fixed":
        fee_model = ImportableFeeModelConfig(
            fee_model_path="nautilus_trader.backtest.models:FixedFeeModel",
            config_path="nautilus_trader.backtest.config:FixedFeeModelConfig",
            config={"commission": venue.fee_model.commission},
        )
    else:
        fee_model = ImportableFeeModelConfig(
            fee_model_path="nautilus_trader.backtest.models:MakerTakerFeeModel",
            config_path="nautilus_trader.backtest.config:MakerTakerFeeModelConfig",
            config={},
        )
    return BacktestVenueConfig(
        name=venue.name,
        oms_type=venue.oms_type,
        account_type=venue.account_type,
        starting_balances=list(venue.starting_balances),
        base_currency=venue.base_currency,
        default_leverage=float(venue.default_leverage),
        book_type=venue.book_type,
        bar_execution=venue.bar_execution,
        support_contingent_orders=venue.support_contingent_orders,
        fill_model=ImportableFillModelConfig(
            fill_model_path="nautilus_trader.backtest.models:FillModel",
            config_path="nautilus_trader.backtest.config:FillModelConfig",
            config=fill_config,
        ),
        fee_model=fee_model,
    )


def _data(cfg: LiveexecConfig, stream: DataStreamConfig) -> BacktestDataConfig:
    assert cfg.data is not None  # validated: simulated modes have data
    catalog = cfg.data.catalog
    protocol = catalog.path.split("://", 1)[0] if catalog.is_remote else None
    return BacktestDataConfig(
        catalog_path=catalog.path,
        catalog_fs_protocol=protocol,
        # Never the storage options: NautilusTrader's configs print them in repr() and JSON, and
        # BacktestNode logs its config on failures. The node gets the catalog opened by liveexec
        # instead (liveexec.nodes.node_reading).
        catalog_fs_storage_options=None,
        data_cls=DATA_CLASSES[stream.kind],  # type: ignore[arg-type]  # see DATA_CLASSES
        instrument_id=stream.instrument_id,
        bar_types=[stream.bar_type] if stream.bar_type else None,
        start_time=cfg.data.start.isoformat() if cfg.data.start else None,
        end_time=cfg.data.end.isoformat() if cfg.data.end else None,
    )


def build_risk_engine_config(risk: RiskConfig) -> RiskEngineConfig:
    """NautilusTrader's own pre-trade risk engine settings from the config's ``risk`` section.

    The backtest and the live node both take this object, so both enforce the same limits.
    ``max_notional_per_order`` is in each instrument's quote currency, as NautilusTrader reads it.
    """
    return RiskEngineConfig(
        bypass=risk.bypass,
        max_order_submit_rate=risk.max_order_submit_rate,
        max_order_modify_rate=risk.max_order_modify_rate,
        # NautilusTrader parses each value with Decimal(value): exact text keeps it exact.
        max_notional_per_order={
            iid: str(limit)  # type: ignore[misc]  # declared dict[str, int], read as Decimal
            for iid, limit in risk.max_notional_per_order.items()
        },
    )


def live_risk_engine_config(risk: RiskEngineConfig) -> LiveRiskEngineConfig:
    """The live node's risk engine with exactly the backtest's settings."""
    return LiveRiskEngineConfig(**msgspec.structs.asdict(risk))


def build_run_config(cfg: LiveexecConfig) -> BacktestRunConfig:
    """The run NautilusTrader's ``BacktestNode`` executes for ``cfg`` (any mode with a ``data``
    section: the mode is not part of what a run does)."""
    if cfg.data is None:
        raise ValueError("a simulated run needs the config's 'data' section")
    components = build_components(cfg)
    engine = BacktestEngineConfig(
        trader_id=TraderId(cfg.trader_id),
        strategies=components.strategies,
        exec_algorithms=components.exec_algorithms,
        actors=components.actors,
        logging=nautilus_logging_config(cfg.logging),
        risk_engine=build_risk_engine_config(cfg.risk),
        run_analysis=False,
    )
    return BacktestRunConfig(
        venues=[venue_config(v) for v in cfg.venues],
        data=[_data(cfg, s) for s in cfg.data.streams],
        engine=engine,
        raise_exception=True,
        dispose_on_completion=False,
    )
