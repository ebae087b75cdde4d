"""The liveexec configuration tree: one frozen, typed object describes a whole run in any mode.

The root, ``LiveexecConfig``, is here; each section's model and its cross-field rules are in a
module of their own (``_venues``, ``_instruments``, ``_data``, ``_risk``, ``_live``, ``_paper``,
...), the rules gathered in ``_validation``. Every name is re-exported here too.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from liveexec.config._base import MONEY_PATTERN, FrozenModel, Mode, TraderId
from liveexec.config._components import (
    ActorSpec,
    ExecAlgorithmSpec,
    StrategySpec,
    derived_config_path,
)
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
    "derived_config_path",
]


class LiveexecConfig(FrozenModel):
    """One run of one trader in any mode: what the backtest and the live nodes are built from."""

    trader_id: TraderId = Field(
        default="TRADER-001",
        description="NautilusTrader's trader id, 'NAME-TAG'; one paper or live node per trader "
        "id runs at a time.",
    )
    mode: Mode = Field(
        default="backtest",
        description="backtest, paper or live: what `liveexec backtest` and `live` require; "
        "`liveexec paper` runs any mode's config as paper. Not part of the config_id.",
    )
    strategies: tuple[StrategySpec, ...] = Field(
        default=(), description="The NautilusTrader strategies the trader runs."
    )
    exec_algorithms: tuple[ExecAlgorithmSpec, ...] = Field(
        default=(), description="NautilusTrader execution algorithms strategies can send to."
    )
    actors: tuple[ActorSpec, ...] = Field(
        default=(), description="NautilusTrader actors the trader runs beside the strategies."
    )
    venues: tuple[VenueConfig, ...] = Field(
        default=(),
        description="The venues traded: simulated (backtest, paper) or real (live).",
    )
    instruments: tuple[InstrumentSpec, ...] = Field(
        default=(),
        description="The instruments traded: defined here, or provided by the catalog or the "
        "venue.",
    )
    data: DataConfig | None = Field(
        default=None,
        description="The catalog data a backtest or a paper replay reads; none in live mode.",
    )
    database: DatabaseConfig = Field(
        default=DatabaseConfig(), description="Where runs, orders and fills are recorded."
    )
    risk: RiskConfig = Field(default=RiskConfig(), description="Pre-trade limits.")
    live: LiveConfig = Field(
        default=LiveConfig(),
        description="The venues' adapters: live trading, and paper on a venue's market data.",
    )
    paper: PaperConfig = Field(
        default=PaperConfig(), description="Where a paper run's data comes from, and its pace."
    )
    stop: StopConfig = Field(
        default=StopConfig(),
        description="What a paper or live node does with its open orders and positions when "
        "asked to stop.",
    )
    logging: LoggingConfig = Field(default=LoggingConfig(), description="NautilusTrader's log.")
    promotion: PromotionConfig = Field(
        default=PromotionConfig(),
        description="What a backtest and a paper run must show before the config trades live.",
    )

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
