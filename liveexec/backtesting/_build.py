"""A liveexec config as a NautilusTrader ``BacktestRunConfig``."""

from __future__ import annotations

from nautilus_trader.backtest.config import (
    BacktestDataConfig,
    BacktestEngineConfig,
    BacktestRunConfig,
    BacktestVenueConfig,
    ImportableFeeModelConfig,
    ImportableFillModelConfig,
)
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.model.identifiers import TraderId

from liveexec.config import DataStreamConfig, LiveexecConfig, VenueConfig
from liveexec.nodes import build_components

__all__ = ["DATA_CLASSES", "build_backtest_run_config"]

DATA_CLASSES = {
    "bars": "nautilus_trader.model.data:Bar",
    "quotes": "nautilus_trader.model.data:QuoteTick",
    "trades": "nautilus_trader.model.data:TradeTick",
}


def _venue(venue: VenueConfig) -> BacktestVenueConfig:
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
        fill_model=ImportableFillModelConfig(
            fill_model_path="nautilus_trader.backtest.models:FillModel",
            config_path="nautilus_trader.backtest.config:FillModelConfig",
            config=fill_config,
        ),
        fee_model=fee_model,
    )


def _data(cfg: LiveexecConfig, stream: DataStreamConfig) -> BacktestDataConfig:
    assert cfg.data is not None  # validated: backtest mode has data
    catalog = cfg.data.catalog
    protocol = catalog.path.split("://", 1)[0] if catalog.is_remote else None
    options = {k: v.get_secret_value() for k, v in catalog.storage_options.items()} or None
    return BacktestDataConfig(
        catalog_path=catalog.path,
        catalog_fs_protocol=protocol,
        catalog_fs_storage_options=options,
        data_cls=DATA_CLASSES[stream.kind],
        instrument_id=stream.instrument_id,
        bar_types=[stream.bar_type] if stream.bar_type else None,
        start_time=cfg.data.start.isoformat() if cfg.data.start else None,
        end_time=cfg.data.end.isoformat() if cfg.data.end else None,
    )


def build_backtest_run_config(cfg: LiveexecConfig) -> BacktestRunConfig:
    """The run NautilusTrader's ``BacktestNode`` executes for ``cfg``."""
    if cfg.data is None:
        raise ValueError("a backtest needs the config's 'data' section")
    components = build_components(cfg)
    engine = BacktestEngineConfig(
        trader_id=TraderId(cfg.trader_id),
        strategies=components.strategies,
        exec_algorithms=components.exec_algorithms,
        actors=components.actors,
        logging=LoggingConfig(log_level=cfg.logging.level),
        run_analysis=False,
    )
    return BacktestRunConfig(
        venues=[_venue(v) for v in cfg.venues],
        data=[_data(cfg, s) for s in cfg.data.streams],
        engine=engine,
        raise_exception=True,
        dispose_on_completion=False,
    )
