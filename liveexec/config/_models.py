"""The liveexec configuration tree: one frozen, typed object describes a whole run in any mode.

The root, ``LiveexecConfig``, is here; each section's model and its cross-field rules are in a
module of their own (``_venues``, ``_instruments``, ``_data``, ``_risk``, ``_live``, ``_paper``,
...), the rules gathered in ``_validation``. Every name is re-exported here too.
"""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

from liveexec.config._base import MONEY_PATTERN, FrozenModel, Mode, TraderId
from liveexec.config._components import ActorSpec, ExecAlgorithmSpec, StrategySpec
from liveexec.config._data import CatalogConfig, DataConfig, DataStreamConfig
from liveexec.config._database import DatabaseConfig
from liveexec.config._instruments import (
    CryptoPerpetualSpec,
    CurrencyPairSpec,
    DefinedInstrumentSpec,
    EquitySpec,
    FuturesContractSpec,
    InstrumentSpec,
    ProvidedInstrumentsSpec,
)
from liveexec.config._live import (
    LIVE_VENUES,
    BinanceLiveConfig,
    BybitLiveConfig,
    LiveConfig,
    OkxLiveConfig,
)
from liveexec.config._logging import LoggingConfig, LogLevel
from liveexec.config._paper import PaperConfig
from liveexec.config._promotion import PromotionConfig
from liveexec.config._risk import (
    DatabaseExposureConfig,
    InstrumentRiskLimits,
    KillSwitchConfig,
    RiskConfig,
    StrategyRiskLimits,
)
from liveexec.config._stop import StopConfig
from liveexec.config._validation import SemanticIssues, cross_field_issues
from liveexec.config._venues import MAX_LEVERAGE, FeeModelConfig, FillModelConfig, VenueConfig

__all__ = [
    "LIVE_VENUES",
    "MAX_LEVERAGE",
    "MONEY_PATTERN",
    "ActorSpec",
    "BinanceLiveConfig",
    "BybitLiveConfig",
    "CatalogConfig",
    "CryptoPerpetualSpec",
    "CurrencyPairSpec",
    "DataConfig",
    "DataStreamConfig",
    "DatabaseConfig",
    "DatabaseExposureConfig",
    "DefinedInstrumentSpec",
    "EquitySpec",
    "ExecAlgorithmSpec",
    "FeeModelConfig",
    "FillModelConfig",
    "FuturesContractSpec",
    "InstrumentRiskLimits",
    "InstrumentSpec",
    "KillSwitchConfig",
    "LiveConfig",
    "LiveexecConfig",
    "LogLevel",
    "LoggingConfig",
    "Mode",
    "OkxLiveConfig",
    "PaperConfig",
    "PromotionConfig",
    "ProvidedInstrumentsSpec",
    "RiskConfig",
    "SemanticIssues",
    "StopConfig",
    "StrategyRiskLimits",
    "StrategySpec",
    "VenueConfig",
]


class LiveexecConfig(FrozenModel):
    """One run of one trader in any mode: what the backtest and the live nodes are built from."""

    trader_id: TraderId = "TRADER-001"
    mode: Mode = "backtest"
    strategies: tuple[StrategySpec, ...] = ()
    exec_algorithms: tuple[ExecAlgorithmSpec, ...] = ()
    actors: tuple[ActorSpec, ...] = ()
    venues: tuple[VenueConfig, ...] = ()
    instruments: tuple[InstrumentSpec, ...] = ()
    data: DataConfig | None = None
    database: DatabaseConfig = DatabaseConfig()
    risk: RiskConfig = RiskConfig()
    live: LiveConfig = LiveConfig()
    paper: PaperConfig = PaperConfig()
    stop: StopConfig = StopConfig()
    logging: LoggingConfig = LoggingConfig()
    promotion: PromotionConfig = PromotionConfig()

    @property
    def instrument_ids(self) -> list[str]:
        ids: list[str] = []
        for spec in self.instruments:
            ids.extend(spec.ids if isinstance(spec, ProvidedInstrumentsSpec) else (spec.id,))
        return ids

    @property
    def config_id(self) -> str:
        from liveexec.config._identity import config_id  # noqa: PLC0415 (cycle: identity reads this model)

        return config_id(self)

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        issues = cross_field_issues(self)
        if issues:
            raise SemanticIssues(issues)
        return self
