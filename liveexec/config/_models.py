"""The liveexec configuration tree: one frozen, typed object describes a whole run in any mode."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SecretStr,
    model_validator,
)

__all__ = [
    "LIVE_VENUES",
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

Mode = Literal["backtest", "paper", "live"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _pattern(regex: str, what: str, example: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            msg = f"{value!r} is not a valid {what} (expected something like {example!r})"
            raise ValueError(msg)
        return value

    return AfterValidator(check)


TraderId = Annotated[str, _pattern(r"[A-Za-z0-9_]+-[A-Za-z0-9_]+", "trader id", "TRADER-001")]
VenueName = Annotated[str, _pattern(r"[A-Z][A-Z0-9_]*", "venue name", "BINANCE")]
InstrumentId = Annotated[
    str, _pattern(r"[^\s.][^\s]*\.[A-Z][A-Z0-9_]*", "instrument id", "BTCUSDT.BINANCE")
]
CurrencyCode = Annotated[str, _pattern(r"[A-Z0-9]{2,10}", "currency code", "USDT")]
ImportPath = Annotated[
    str,
    _pattern(
        r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*",
        "import path",
        "nautilus_trader.examples.strategies.ema_cross:EMACross",
    ),
]
MONEY_PATTERN = r"(-?\d+(?:\.\d+)?) ([A-Z0-9]{2,10})"  # amount, currency
MoneyStr = Annotated[str, _pattern(MONEY_PATTERN, "money amount", "1000000 USD")]
RateStr = Annotated[str, _pattern(r"\d+/\d{2}:\d{2}:\d{2}", "rate limit", "100/00:00:01")]
Precision = Annotated[int, Field(ge=0, le=16)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# No venue offers more; a larger number is a typo (an extra zero), not a strategy.
MAX_LEVERAGE = 1000


# --- components (the shape of NautilusTrader's Importable*Config) ---------------------------


class _ComponentSpec(_Frozen):
    path: ImportPath = Field(description="Import path of the component class, 'module:Class'.")
    config_path: ImportPath = Field(
        description="Import path of the component's NautilusTrader config class, 'module:Class'."
    )
    config: dict[str, JsonValue] = Field(
        default_factory=dict, description="Parameters passed to the config class."
    )


class StrategySpec(_ComponentSpec):
    """A NautilusTrader strategy, by import path, with its config parameters."""


class ExecAlgorithmSpec(_ComponentSpec):
    """A NautilusTrader execution algorithm (TWAP, VWAP, Iceberg, ...), by import path."""


class ActorSpec(_ComponentSpec):
    """A NautilusTrader actor, by import path."""


# --- venues -----------------------------------------------------------------------------------


class FeeModelConfig(_Frozen):
    kind: Literal["maker_taker", "fixed"] = Field(
        default="maker_taker",
        description=(
            "'maker_taker' uses the instrument's maker/taker fees; 'fixed' a commission per fill."
        ),
    )
    commission: MoneyStr | None = Field(
        default=None, description="Per-fill commission for 'fixed'."
    )

    @model_validator(mode="after")
    def _fixed_needs_commission(self) -> Self:
        if self.kind == "fixed" and self.commission is None:
            raise ValueError("fee model 'fixed' needs 'commission' (e.g. '2.50 USD')")
        return self


class FillModelConfig(_Frozen):
    prob_fill_on_limit: Probability = 1.0
    prob_slippage: Probability = 0.0
    random_seed: int | None = None


class VenueConfig(_Frozen):
    """A trading venue: simulated in backtest and paper mode, real in live mode."""

    name: VenueName
    oms_type: Literal["NETTING", "HEDGING"] = "NETTING"
    account_type: Literal["CASH", "MARGIN"] = "MARGIN"
    base_currency: CurrencyCode | None = Field(
        default=None,
        description="Single-currency account in this currency; None for multi-currency.",
    )
    starting_balances: tuple[MoneyStr, ...] = Field(
        default=(), description="Simulated starting balances, e.g. ['1000000 USD']."
    )
    default_leverage: Annotated[Decimal, Field(gt=0, le=MAX_LEVERAGE)] = Field(
        default=Decimal(1),
        description=f"Leverage of a margin account, above 0 and at most {MAX_LEVERAGE}.",
    )
    book_type: Literal["L1_MBP", "L2_MBP", "L3_MBO"] = "L1_MBP"
    bar_execution: bool = True
    support_contingent_orders: bool = Field(
        default=True,
        description="The simulated venue links contingent orders (OTO/OCO/OUO: brackets). "
        "Off, each order stands alone: a filled take-profit leaves its stop-loss working. Off "
        "also makes long NETTING runs linear in time (NautilusTrader re-reads every order of a "
        "position after each fill to update its contingencies).",
    )
    fee_model: FeeModelConfig = FeeModelConfig()
    fill_model: FillModelConfig = FillModelConfig()


# --- instruments --------------------------------------------------------------------------------


class _ListedInstrument(_Frozen):
    """What every instrument defined in the config has, whatever its kind."""

    id: InstrumentId
    raw_symbol: str | None = Field(
        default=None, description="Venue symbol; defaults to the id's symbol."
    )
    price_precision: Precision
    price_increment: PositiveDecimal | None = Field(
        default=None, description="Defaults to 10^-price_precision."
    )
    tick_scheme: str | None = Field(default=None, description="e.g. 'FOREX_3DECIMAL'.")
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    margin_init: NonNegativeDecimal = Decimal(0)
    margin_maint: NonNegativeDecimal = Decimal(0)

    @property
    def venue(self) -> str:
        return self.id.rsplit(".", 1)[1]


class _InstrumentDefinition(_ListedInstrument):
    """A pair of currencies (spot or perpetual), traded in fractional sizes."""

    base_currency: CurrencyCode
    quote_currency: CurrencyCode
    size_precision: Precision
    size_increment: PositiveDecimal | None = Field(
        default=None, description="Defaults to 10^-size_precision."
    )
    lot_size: PositiveDecimal | None = None
    min_quantity: PositiveDecimal | None = None
    max_quantity: PositiveDecimal | None = None
    min_notional: MoneyStr | None = None
    max_notional: MoneyStr | None = None


class CurrencyPairSpec(_InstrumentDefinition):
    """A spot or FX currency pair, e.g. BTCUSDT.BINANCE or USD/JPY.SIM."""

    kind: Literal["currency_pair"]


class CryptoPerpetualSpec(_InstrumentDefinition):
    """A perpetual swap, e.g. BTCUSDT-PERP.BINANCE."""

    kind: Literal["crypto_perpetual"]
    settlement_currency: CurrencyCode
    is_inverse: bool = False


AssetClass = Literal["FX", "EQUITY", "COMMODITY", "DEBT", "INDEX", "CRYPTOCURRENCY", "ALTERNATIVE"]
WholeUnits = Annotated[int, Field(ge=1)]


class FuturesContractSpec(_ListedInstrument):
    """A dated futures contract (NautilusTrader ``FuturesContract``), traded in whole contracts,
    e.g. ESZ5.XCME."""

    kind: Literal["futures_contract"]
    currency: CurrencyCode = Field(description="Quote and settlement currency, e.g. 'USD'.")
    underlying: str = Field(min_length=1, description="The underlying's symbol, e.g. 'ES'.")
    asset_class: AssetClass = Field(description="Asset class of the underlying, e.g. 'INDEX'.")
    multiplier: PositiveDecimal = Field(
        default=Decimal(1), description="Contract multiplier (value of one point per contract)."
    )
    lot_size: WholeUnits = Field(default=1, description="Contracts per round lot.")
    activation: AwareDatetime = Field(description="First trading time (UTC or with an offset).")
    expiration: AwareDatetime = Field(description="Expiry time (UTC or with an offset).")
    exchange: str | None = Field(
        default=None, min_length=1, description="ISO 10383 MIC of the exchange, e.g. 'XCME'."
    )

    @model_validator(mode="after")
    def _activation_before_expiration(self) -> Self:
        if self.activation >= self.expiration:
            msg = f"activation ({self.activation}) must be before expiration ({self.expiration})"
            raise ValueError(msg)
        return self


class EquitySpec(_ListedInstrument):
    """A share (NautilusTrader ``Equity``), traded in whole shares, e.g. AAPL.XNAS."""

    kind: Literal["equity"]
    currency: CurrencyCode = Field(description="Quote currency, e.g. 'USD'.")
    lot_size: WholeUnits = Field(default=1, description="Shares per round lot.")
    min_quantity: WholeUnits | None = None
    max_quantity: WholeUnits | None = None
    isin: str | None = Field(
        default=None, pattern=r"[A-Z]{2}[A-Z0-9]{9}[0-9]", description="e.g. 'US0378331005'."
    )


class ProvidedInstrumentsSpec(_Frozen):
    """Instruments loaded at run time from the data catalog or from the venue's own provider."""

    kind: Literal["provided"]
    source: Literal["catalog", "venue"]
    ids: tuple[InstrumentId, ...] = Field(min_length=1)


DefinedInstrumentSpec = CurrencyPairSpec | CryptoPerpetualSpec | FuturesContractSpec | EquitySpec
InstrumentSpec = Annotated[
    DefinedInstrumentSpec | ProvidedInstrumentsSpec, Field(discriminator="kind")
]


# --- data -----------------------------------------------------------------------------------------


class CatalogConfig(_Frozen):
    """A NautilusTrader ParquetDataCatalog: a local path or an fsspec URI (gs://, s3://, ...)."""

    path: str = Field(min_length=1, description="Local path (relative to the config file) or URI.")
    storage_options: dict[str, SecretStr] = Field(
        default_factory=dict, description="fsspec storage options (credentials are kept secret)."
    )

    @property
    def is_remote(self) -> bool:
        return "://" in self.path and not self.path.startswith("file://")


class DataStreamConfig(_Frozen):
    kind: Literal["bars", "quotes", "trades"]
    instrument_id: InstrumentId
    bar_type: str | None = Field(
        default=None,
        description="Required for bars, e.g. 'BTC-PERP.SIM-1-MINUTE-LAST-EXTERNAL'.",
    )

    @model_validator(mode="after")
    def _bar_type_matches(self) -> Self:
        if self.kind == "bars":
            if self.bar_type is None:
                raise ValueError(
                    "bars need 'bar_type' (e.g. 'BTC-PERP.SIM-1-MINUTE-LAST-EXTERNAL')"
                )
            if not self.bar_type.startswith(f"{self.instrument_id}-"):
                msg = f"bar_type {self.bar_type!r} does not start with '{self.instrument_id}-'"
                raise ValueError(msg)
        elif self.bar_type is not None:
            raise ValueError(f"'bar_type' is only allowed for bars, not {self.kind}")
        return self


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_NS_TIME = datetime(2262, 4, 11, tzinfo=UTC)


class DataConfig(_Frozen):
    catalog: CatalogConfig
    streams: tuple[DataStreamConfig, ...] = Field(min_length=1)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for name in ("start", "end"):
            moment = getattr(self, name)
            # NautilusTrader keeps time as unsigned 64-bit nanoseconds since 1970.
            if moment is not None and not (_EPOCH <= moment < _LAST_NS_TIME):
                raise ValueError(f"{name} ({moment}) must lie between 1970 and 2262")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self


# --- database, risk, live, logging ------------------------------------------------------------


class DatabaseConfig(_Frozen):
    url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL (sqlite:///... or postgresql+psycopg://...). Default: a SQLite file in "
            "the user data directory. LIVEEXEC_DATABASE_URL overrides it."
        ),
    )
    echo: bool = False


class KillSwitchConfig(_Frozen):
    """The manual kill switch: ``liveexec halt TRADER_ID`` / ``liveexec resume TRADER_ID``.

    Halts are rows in the database; the risk gate reads them at start and every
    ``poll_interval_s`` seconds of wall time, and denies every order while its trader is halted
    (or lets only reducing orders through for ``liveexec halt --reducing``). If the database
    cannot be read, orders are denied until it can (fail closed).
    """

    enabled: bool = Field(
        default=True,
        description="Honour halts from the database (paper and live; backtests: in_backtest).",
    )
    in_backtest: bool = Field(
        default=False,
        description=(
            "Backtests honour the kill switch too (off by default: halting a live trader should "
            "not stop research runs under the same trader id)."
        ),
    )
    poll_interval_s: Annotated[float, Field(ge=0.05, le=1.0)] = Field(
        default=0.5, description="Seconds of wall time between two reads of the halts table."
    )
    max_drawdown_pct: Annotated[Decimal, Field(gt=0, le=100)] | None = Field(
        default=None, description="Not enforced (use risk.max_drawdown): refused if set."
    )
    max_consecutive_rejects: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Not enforced: refused if set."
    )
    flatten_on_trigger: bool = Field(
        default=False,
        description="Not enforced (a halt stops new orders, it does not close positions): "
        "refused if true.",
    )

    def unenforced(self) -> list[str]:
        return [
            name
            for name in ("max_drawdown_pct", "max_consecutive_rejects", "flatten_on_trigger")
            if getattr(self, name) != type(self).model_fields[name].get_default()
        ]


class InstrumentRiskLimits(_Frozen):
    """Limits on one instrument, across all strategies of the trader (quantities in the
    instrument's units, notionals in its quote currency)."""

    max_order_qty: PositiveDecimal | None = None
    max_order_notional: PositiveDecimal | None = None
    max_position_qty: PositiveDecimal | None = Field(
        default=None,
        description="Largest position either way, counting working orders that would add to it.",
    )
    max_position_notional: PositiveDecimal | None = Field(
        default=None, description="As max_position_qty, valued at the last price."
    )
    price_band_bps: PositiveDecimal | None = Field(
        default=None,
        description="A limit or stop price further than this from the last price is denied.",
    )
    price_band_ticks: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="As price_band_bps, in price increments."
    )


class StrategyRiskLimits(_Frozen):
    """Limits on one strategy (by its strategy id, e.g. 'EMACross-000')."""

    max_order_notional: PositiveDecimal | None = None
    max_position_qty: PositiveDecimal | None = Field(
        default=None, description="Per instrument, counting working orders that would add to it."
    )
    max_position_notional: PositiveDecimal | None = Field(
        default=None, description="Per instrument, valued at the last price."
    )
    max_open_orders: Annotated[int, Field(ge=1)] | None = None
    max_orders_per_second: Annotated[int, Field(ge=1)] | None = None
    max_orders_per_minute: Annotated[int, Field(ge=1)] | None = None


class DatabaseExposureConfig(_Frozen):
    """Gross and net exposure of every trader sharing the database, in
    ``risk.reporting_currency``: this trader's own (the gate's state) plus the working orders
    and open positions other traders' running paper/live runs have in ``unified_orders`` and
    ``unified_positions`` (backtests never count). The other traders' figures are a snapshot
    read on a thread of its own every ``refresh_interval_s``; an order is denied when no read
    has succeeded for ``max_staleness_s`` (fail closed), and an order that only reduces is
    never denied by this check."""

    max_gross: PositiveDecimal | None = Field(
        default=None,
        description="Sum over instruments of |worst-case position| values, all traders' "
        "positions and working orders in each instrument netted together.",
    )
    max_net: PositiveDecimal | None = Field(
        default=None, description="|Sum of signed worst-case position values|, all traders."
    )
    modes: tuple[Literal["paper", "live"], ...] = Field(
        default=("paper", "live"),
        min_length=1,
        description="Which other traders' running runs count: 'paper', 'live' or both "
        "(backtests never count).",
    )
    refresh_interval_s: Annotated[float, Field(ge=0.05, le=5.0)] = Field(
        default=0.25, description="Seconds of wall time between two reads of the other traders."
    )
    max_staleness_s: Annotated[float, Field(gt=0, le=60.0)] = Field(
        default=2.0,
        description="Orders are denied while the last successful read is older than this "
        "(at least twice refresh_interval_s).",
    )
    in_backtest: bool = Field(
        default=False,
        description="Backtests are governed by the check too (off by default: a research run "
        "should not depend on what live traders hold now).",
    )


class RiskConfig(_Frozen):
    """Pre-trade limits.

    ``bypass``, the two rates and ``max_notional_per_order`` configure NautilusTrader's own risk
    engine in every node. The other limits are liveexec's pre-trade risk gate (``liveexec.risk``):
    it sees every order a strategy submits before NautilusTrader's risk engine does, in backtest,
    paper and live nodes alike, and denies with NautilusTrader's ``OrderDenied``.
    """

    bypass: bool = Field(
        default=False, description="Skip NautilusTrader's pre-trade checks (rate limits stay)."
    )
    max_order_submit_rate: RateStr = Field(
        default="100/00:00:01", description="Submit commands per interval, 'count/HH:MM:SS'."
    )
    max_order_modify_rate: RateStr = Field(
        default="100/00:00:01", description="Modify commands per interval, 'count/HH:MM:SS'."
    )
    max_notional_per_order: dict[InstrumentId, PositiveDecimal] = Field(
        default_factory=dict,
        description="Per instrument, in its quote currency; larger orders are denied "
        "(NautilusTrader's check: CASH venues only; see instruments.*.max_order_notional).",
    )
    instruments: dict[InstrumentId, InstrumentRiskLimits] = Field(
        default_factory=dict, description="liveexec limits per instrument (trader-wide)."
    )
    strategies: dict[str, StrategyRiskLimits] = Field(
        default_factory=dict, description="liveexec limits per strategy id."
    )
    max_open_orders: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Working orders of the whole trader."
    )
    reporting_currency: CurrencyCode | None = Field(
        default=None,
        description="Currency of exposure and loss limits; an instrument that settles in another "
        "currency is converted at the node's exchange rate (quotes of the currency pairs at its "
        "venue); no rate: orders denied.",
    )
    max_gross_exposure: PositiveDecimal | None = Field(
        default=None, description="Sum of |position| values, counting working orders."
    )
    max_net_exposure: PositiveDecimal | None = Field(
        default=None, description="|Sum of signed position values|, counting working orders."
    )
    max_daily_loss: PositiveDecimal | None = Field(
        default=None,
        description="Loss (realized + unrealized) since the UTC day began that moves the trader "
        "to loss_action until the next UTC day.",
    )
    max_drawdown: PositiveDecimal | None = Field(
        default=None,
        description="Fall of total PnL (realized + unrealized) from its peak that moves the "
        "trader to loss_action for the rest of the run.",
    )
    loss_action: Literal["REDUCING", "HALTED"] = Field(
        default="REDUCING", description="Trading state after a loss limit is reached."
    )
    max_price_age_s: PositiveDecimal | None = Field(
        default=None,
        description="A last price older than this counts as no price (market orders and "
        "notional checks are then denied).",
    )
    check_available_balance: bool = Field(
        default=False,
        description="Deny an order the venue account cannot pay for: its initial margin "
        "(margin accounts) or the cash it locks (cash accounts: the notional of a buy, the "
        "base quantity of a sell) above the free balance, less what approved orders not yet "
        "accepted need. Orders that only reduce a position are not checked.",
    )
    kill_switch: KillSwitchConfig = KillSwitchConfig()
    database_exposure: DatabaseExposureConfig | None = Field(
        default=None,
        description="Exposure limits across every trader sharing the database (opt-in).",
    )

    def gate_checks(self) -> bool:
        """Whether any in-memory check of liveexec's risk gate is configured."""
        return any(
            getattr(self, name)
            != type(self).model_fields[name].get_default(call_default_factory=True)
            for name in (
                "instruments",
                "strategies",
                "max_open_orders",
                "max_gross_exposure",
                "max_net_exposure",
                "max_daily_loss",
                "max_drawdown",
                "max_price_age_s",
                "check_available_balance",
            )
        )

    def unenforced(self) -> list[str]:
        """The fields set to something no node enforces yet."""
        return [f"kill_switch.{name}" for name in self.kill_switch.unenforced()]


class _VenueCredentials(_Frozen):
    api_key: SecretStr | None = Field(
        default=None, description="API key; write it as ${ENV_VAR}, never in the file."
    )
    api_secret: SecretStr | None = Field(
        default=None, description="API secret; write it as ${ENV_VAR}, never in the file."
    )

    def missing_credentials(self) -> list[str]:
        return [name for name in ("api_key", "api_secret") if getattr(self, name) is None]


class BinanceLiveConfig(_VenueCredentials):
    """NautilusTrader's Binance adapter (venue ``BINANCE``): one account type per node."""

    environment: Literal["live", "testnet", "demo"] = Field(
        default="live", description="Binance's production, testnet or demo endpoints."
    )
    account_type: Literal["SPOT", "MARGIN", "USDT_FUTURES", "COIN_FUTURES"] = Field(
        default="SPOT",
        description="SPOT/MARGIN: spot instruments; USDT_FUTURES/COIN_FUTURES: perpetuals.",
    )


class BybitLiveConfig(_VenueCredentials):
    """NautilusTrader's Bybit adapter (venue ``BYBIT``)."""

    environment: Literal["live", "testnet", "demo"] = Field(
        default="live", description="Bybit's mainnet, testnet or demo endpoints."
    )
    product_types: tuple[Literal["SPOT", "LINEAR", "INVERSE", "OPTION"], ...] = Field(
        default=("LINEAR",),
        min_length=1,
        description="Products the node trades: SPOT, LINEAR (USDT perpetuals), INVERSE.",
    )


class OkxLiveConfig(_VenueCredentials):
    """NautilusTrader's OKX adapter (venue ``OKX``)."""

    api_passphrase: SecretStr | None = Field(
        default=None, description="API passphrase; write it as ${ENV_VAR}."
    )
    environment: Literal["live", "demo"] = Field(
        default="live", description="OKX's production or demo-trading endpoints."
    )
    instrument_types: tuple[Literal["SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"], ...] = Field(
        default=("SWAP",),
        min_length=1,
        description="Instrument types the node trades: SPOT, SWAP (perpetuals), FUTURES.",
    )

    def missing_credentials(self) -> list[str]:
        missing = super().missing_credentials()
        return [*missing, "api_passphrase"] if self.api_passphrase is None else missing


# The venue each adapter section connects, as NautilusTrader's adapters name it.
LIVE_VENUES = {"binance": "BINANCE", "bybit": "BYBIT", "okx": "OKX"}


class LiveConfig(_Frozen):
    """Live trading (``mode: live``) through NautilusTrader's own venue adapters.

    Each configured section adds that venue's data and execution clients to the node; the
    config's ``venues`` and ``instruments`` name what it trades there.
    """

    binance: BinanceLiveConfig | None = None
    bybit: BybitLiveConfig | None = None
    okx: OkxLiveConfig | None = None
    reconciliation: bool = Field(
        default=True,
        description="Reconcile the node's orders and positions with the venue's at start.",
    )
    timeout_connection_s: Annotated[float, Field(gt=0)] = Field(
        default=30.0, description="How long the node waits for its clients to connect."
    )
    timeout_post_stop_s: Annotated[float, Field(gt=0)] = Field(
        default=10.0,
        description="How long the node waits after stopping the strategies for their last "
        "orders' events (cancels, closing fills) to come back from the venue.",
    )

    def configured(self) -> dict[str, _VenueCredentials]:
        venues: dict[str, _VenueCredentials | None] = {
            "binance": self.binance,
            "bybit": self.bybit,
            "okx": self.okx,
        }
        return {name: cfg for name, cfg in venues.items() if cfg is not None}


class StopConfig(_Frozen):
    """What a paper or live node does with its orders and positions when it is asked to stop
    (``liveexec stop TRADER_ID``, Ctrl-C, SIGTERM). A paper run that reaches the end of its
    data ends as a backtest does (the strategies' own ``on_stop``), whatever this says."""

    open_orders: Literal["cancel", "leave"] = Field(
        default="cancel",
        description="cancel: cancel every open order of every strategy before stopping; "
        "leave: liveexec cancels nothing (a strategy's own on_stop still may).",
    )
    flatten_positions: bool = Field(
        default=False,
        description="Close every open position with market orders before stopping.",
    )


class PaperConfig(_Frozen):
    """Where a paper run's (``mode: paper``) market data comes from, and how it is replayed.

    ``market_data: venue``: the ``live`` section's adapters stream a real venue's market data
    (their data clients only) and the config's simulated venues fill the orders on it; no order
    reaches the venue. The replay fields below then do nothing and are refused if set.

    With ``market_data: replay`` (the default) the catalog's data is replayed into a live node.

    Each event waits for the larger of ``min_gap_ms`` after the previous one and its own time
    in the data divided by ``speed``. With ``wait_for_node`` it also waits until the node has
    handled everything the previous event caused (its queues are empty), as the backtest loop
    does: the fills then equal the backtest's. Without it the market does not wait for the
    node, as on a venue: an order can reach the simulated venue after later prices did, and the
    fills differ from the backtest's (measured in docs/ARCHITECTURE.md).
    """

    market_data: Literal["replay", "venue"] = Field(
        default="replay",
        description=(
            "replay: the 'data' section's catalog, replayed; venue: a real venue's live market "
            "data through the 'live' section's adapters (data clients only), the orders filled "
            "by the simulated 'venues'."
        ),
    )
    speed: Annotated[float, Field(gt=0)] | None = Field(
        default=None,
        description=(
            "Replay at this multiple of the data's own pace (1 = real time, 60 = a minute of "
            "data per second); unset: as fast as min_gap_ms and wait_for_node allow."
        ),
    )
    min_gap_ms: Annotated[float, Field(ge=0, le=60_000)] = Field(
        default=2.0,
        description=(
            "Minimum wall time between two replayed events, in milliseconds. The node's order "
            "rate limits (risk.max_order_submit_rate) count wall time: replayed faster, a "
            "strategy that trades slowly in data time can hit them."
        ),
    )
    wait_for_node: bool = Field(
        default=True,
        description=(
            "Replay the next event only once the node has handled the previous one (backtest "
            "parity); false: the data does not wait, as a venue's would not."
        ),
    )


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class LoggingConfig(_Frozen):
    """Where NautilusTrader's log lines go. Not part of ``config_id``.

    NautilusTrader sets its logger up once per process: the first run's ``level``,
    ``file_level``, ``directory`` and ``colors`` hold for later runs in the same process (a
    notebook kernel); each run still gets its own file, the lines written while it ran.
    """

    level: LogLevel = Field(
        default="WARNING",
        description="Lines at or above this level are printed (terminal or notebook cell).",
    )
    file_level: LogLevel | None = Field(
        default="WARNING",
        description=(
            "Lines at or above this level go to the run's log file, '<directory>/<run_id>.log'; "
            "null: no log file. INFO keeps every order, fill and bar line NautilusTrader and the "
            "strategies log, at a cost: about a quarter of the CPU time of a backtest that logs "
            "each bar."
        ),
    )
    directory: str | None = Field(
        default=None,
        min_length=1,
        description="Folder of the run log files; default '$LIVEEXEC_HOME/logs'.",
    )
    colors: bool | None = Field(
        default=None,
        description=(
            "ANSI colours in printed lines; default: only when standard output is a terminal "
            "(never in a notebook cell or a redirected file)."
        ),
    )


class PromotionConfig(_Frozen):
    """What a run must show before its config may trade live (``liveexec promote``).

    Evaluated by ``liveexec.promotion`` on a completed backtest of this config and a paper run
    of it, compared order by order with the backtest. Not part of ``config_id``: the criteria
    judge the strategy, they do not change what it trades.

    The defaults refuse a losing or untested strategy: a paper run required and equal to the
    backtest, at least 30 closed positions, a Sharpe ratio of at least 0.5, no loss, a drawdown
    of at most 20 %, no risk denial or venue rejection. Each criterion can be loosened, or
    disabled with ``null``, by writing it in the config; every decision lists what was loosened
    and warns of what was disabled.
    """

    min_trades: Annotated[int, Field(ge=0)] = Field(
        default=30,
        description="Closed positions the backtest (and paper run) must have at least.",
    )
    min_sharpe: float | None = Field(
        default=0.5,
        description="Annualised Sharpe ratio of daily returns, at least; null disables it.",
    )
    max_drawdown: Annotated[Decimal, Field(gt=0, le=1)] | None = Field(
        default=Decimal("0.2"),
        description="Largest peak-to-trough fall of realized equity, a fraction (0.2 is 20 %); "
        "null disables it.",
    )
    min_total_return: float | None = Field(
        default=0.0,
        description="Total return as a fraction (0.01 is 1 %), at least; null disables it.",
    )
    max_risk_denials: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Orders denied by the pre-trade risk checks, at most."
    )
    max_rejections: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Orders rejected by the venue, at most."
    )
    require_paper: bool = Field(
        default=True, description="A paper run of this config must be given and pass parity."
    )
    min_parity_matched_pct: Annotated[float, Field(ge=0, le=100)] = Field(
        default=100.0, description="Paper orders matched with the backtest's, percent, at least."
    )
    max_fill_price_diff_ticks: Annotated[float, Field(ge=0)] = Field(
        default=0.0, description="Largest fill price difference paper vs backtest, in ticks."
    )
    max_pnl_diff: NonNegativeDecimal = Field(
        default=Decimal(0),
        description="Largest realized PnL difference paper vs backtest, settlement currency.",
    )

    def loosened(self) -> list[tuple[str, object, object]]:
        """(criterion, value, default) of every criterion set looser than its default (a lower
        minimum, a higher maximum, ``null`` for a bound, no paper run required)."""
        default = PromotionConfig()
        out: list[tuple[str, object, object]] = []
        for name in type(self).model_fields:
            value, safe = getattr(self, name), getattr(default, name)
            if value == safe:
                continue
            if name == "require_paper":
                looser = not value
            elif value is None:
                looser = True
            elif name.startswith("min_"):
                looser = value < safe
            else:
                looser = value > safe
            if looser:
                out.append((name, value, safe))
        return out


# --- the root ------------------------------------------------------------------------------------


# pydantic turns a ValueError into a validation error; users never see this class.
class SemanticIssues(ValueError):  # noqa: N818
    """Cross-field problems found after the shape validated; each has its own field path."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{path}: {message}" for path, message in issues))


class LiveexecConfig(_Frozen):
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
        issues = _semantic_issues(self)
        if issues:
            raise SemanticIssues(issues)
        return self


def _duplicates(values: list[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _strategy_ids(cfg: LiveexecConfig) -> list[str]:
    """The strategy ids NautilusTrader's trader gives the configured strategies: the config's
    ``strategy_id`` (or the class name) and its ``order_id_tag`` (or the strategy's index)."""
    ids = []
    for index, spec in enumerate(cfg.strategies):
        name = spec.config.get("strategy_id") or spec.path.rpartition(":")[2]
        tag = spec.config.get("order_id_tag") or f"{index:03d}"
        ids.append(f"{name}-{tag}")
    return ids


def _settlement_currency(spec: DefinedInstrumentSpec) -> str | None:
    """The currency an instrument's value and PnL are in (None: inverse, valued in its base)."""
    if isinstance(spec, CryptoPerpetualSpec):
        return None if spec.is_inverse else spec.settlement_currency
    if isinstance(spec, CurrencyPairSpec):
        return spec.quote_currency
    return spec.currency


def _risk_issues(cfg: LiveexecConfig, known: set[str]) -> list[tuple[str, str]]:
    risk = cfg.risk
    issues: list[tuple[str, str]] = []
    for name in risk.unenforced():
        issues.append(
            (
                f"risk.{name}",
                "not enforced by this version of liveexec; remove it rather than trade "
                "believing it is",
            )
        )
    for section in ("max_notional_per_order", "instruments"):
        for iid in getattr(risk, section):
            if known and iid not in known:
                issues.append(
                    (
                        f"risk.{section}.{iid}",
                        f"{iid!r} is not among the instruments {sorted(known)}",
                    )
                )
    strategy_ids = _strategy_ids(cfg)
    for sid, limits in risk.strategies.items():
        if sid not in strategy_ids:
            issues.append(
                (
                    f"risk.strategies.{sid}",
                    f"{sid!r} is not among the strategy ids {strategy_ids} (strategy_id or "
                    "class name, then order_id_tag or the strategy's index)",
                )
            )
        for field, trader_field in (
            ("max_open_orders", "max_open_orders"),
            ("max_position_notional", "max_gross_exposure"),
        ):
            own, trader = getattr(limits, field), getattr(risk, trader_field)
            if own is not None and trader is not None and own > trader:
                issues.append(
                    (
                        f"risk.strategies.{sid}.{field}",
                        f"{own} is above the trader's limit risk.{trader_field} ({trader})",
                    )
                )
        for iid, inst in risk.instruments.items():
            for field in ("max_order_notional", "max_position_notional"):
                own, trader = getattr(limits, field), getattr(inst, field)
                if own is not None and trader is not None and own > trader:
                    issues.append(
                        (
                            f"risk.strategies.{sid}.{field}",
                            f"{own} is above the instrument's limit "
                            f"risk.instruments.{iid}.{field} ({trader})",
                        )
                    )
    for iid, inst in risk.instruments.items():
        if (
            inst.max_order_qty is not None
            and inst.max_position_qty is not None
            and inst.max_order_qty > inst.max_position_qty
        ):
            issues.append(
                (
                    f"risk.instruments.{iid}.max_order_qty",
                    f"{inst.max_order_qty} is above max_position_qty ({inst.max_position_qty})",
                )
            )
    in_reporting = ("max_gross_exposure", "max_net_exposure", "max_daily_loss", "max_drawdown")
    needing = [name for name in in_reporting if getattr(risk, name) is not None]
    issues.extend(_database_exposure_issues(risk))
    if risk.database_exposure is not None:
        needing.extend(
            f"database_exposure.{name}"
            for name in ("max_gross", "max_net")
            if getattr(risk.database_exposure, name) is not None
        )
    if needing and risk.reporting_currency is None:
        issues.extend(
            (f"risk.{name}", "needs risk.reporting_currency (the currency of the limit)")
            for name in needing
        )
    elif needing and risk.reporting_currency is not None:
        issues.extend(_reporting_currency_issues(cfg, risk.reporting_currency, needing))
    return issues


def _reporting_currency_issues(
    cfg: LiveexecConfig, reporting: str, needing: list[str]
) -> list[tuple[str, str]]:
    """Instruments the gate cannot value in the reporting currency. It converts at
    NautilusTrader's exchange rate (``Cache.get_xrate``), built from the quotes of the currency
    pairs and perpetuals at the instrument's venue: one of them must lead from the instrument's
    currency to ``reporting`` (a venue whose instruments come from a provider is checked when
    the gate runs: no rate, no orders). An inverse instrument is valued in its base currency,
    which the gate does not convert."""
    drop = ", ".join("risk." + name for name in needing)
    pairs: dict[str, list[tuple[str, str]]] = {}
    provided: set[str] = set()
    for spec in cfg.instruments:
        if isinstance(spec, ProvidedInstrumentsSpec):
            provided.update(iid.rsplit(".", 1)[1] for iid in spec.ids)
        elif isinstance(spec, CurrencyPairSpec | CryptoPerpetualSpec):
            pairs.setdefault(spec.venue, []).append((spec.base_currency, spec.quote_currency))
    issues: list[tuple[str, str]] = []
    for index, spec in enumerate(cfg.instruments):
        if isinstance(spec, ProvidedInstrumentsSpec):
            continue
        currency = _settlement_currency(spec)
        if currency is None:
            issues.append(
                (
                    "risk.reporting_currency",
                    f"instruments[{index}] ({spec.id}) is inverse: valued in its base currency, "
                    f"which the risk gate does not convert to {reporting}; use a linear "
                    f"instrument or drop {drop}",
                )
            )
        elif (
            currency != reporting
            and spec.venue not in provided
            and not _converts(pairs.get(spec.venue, []), currency, reporting)
        ):
            issues.append(
                (
                    "risk.reporting_currency",
                    f"instruments[{index}] ({spec.id}) is valued in {currency}, and no currency "
                    f"pair at venue {spec.venue} leads from {currency} to {reporting} (the risk "
                    "gate converts at NautilusTrader's exchange rate from their quotes); add one, "
                    f"e.g. {reporting}/{currency} with its quotes, or drop {drop}",
                )
            )
    return issues


def _converts(pairs: list[tuple[str, str]], source: str, target: str) -> bool:
    """Whether the currency pairs (base, quote) connect ``source`` to ``target``."""
    reached, frontier = {source}, [source]
    while frontier:
        currency = frontier.pop()
        for base, quote in pairs:
            for here, there in ((base, quote), (quote, base)):
                if here == currency and there not in reached:
                    reached.add(there)
                    frontier.append(there)
    return target in reached


def _database_exposure_issues(risk: RiskConfig) -> list[tuple[str, str]]:
    limits = risk.database_exposure
    if limits is None:
        return []
    where = "risk.database_exposure"
    issues: list[tuple[str, str]] = []
    if limits.max_gross is None and limits.max_net is None:
        issues.append((where, "set max_gross, max_net or both (or drop the section)"))
    for name, trader_name in (("max_gross", "max_gross_exposure"), ("max_net", "max_net_exposure")):
        shared, own = getattr(limits, name), getattr(risk, trader_name)
        if shared is not None and own is not None and shared < own:
            issues.append(
                (
                    f"{where}.{name}",
                    f"{shared} is below this trader's own limit risk.{trader_name} ({own}), "
                    "which then could never bind: the database-wide limit covers this trader "
                    "and the others",
                )
            )
    if (
        limits.max_gross is not None
        and limits.max_net is not None
        and limits.max_net > limits.max_gross
    ):
        issues.append(
            (
                f"{where}.max_net",
                f"{limits.max_net} is above max_gross ({limits.max_gross}): net exposure never "
                "exceeds gross, so it could never bind",
            )
        )
    if len(set(limits.modes)) != len(limits.modes):
        issues.append((f"{where}.modes", f"{list(limits.modes)} names a mode twice"))
    if limits.max_staleness_s < 2 * limits.refresh_interval_s:
        issues.append(
            (
                f"{where}.max_staleness_s",
                f"{limits.max_staleness_s:g} s is less than two reads "
                f"(refresh_interval_s {limits.refresh_interval_s:g} s): one slow read would "
                "deny every order",
            )
        )
    return issues


# PaperConfig's fields that only pace a replay.
_REPLAY_FIELDS = ("speed", "min_gap_ms", "wait_for_node")


def _venue_data_issues(cfg: LiveexecConfig) -> list[tuple[str, str]]:
    """``paper.market_data: venue``: the venue's adapters bring the data and the instruments,
    the simulated venues of the same names fill the orders."""
    issues: list[tuple[str, str]] = []
    for name in _REPLAY_FIELDS:
        if name in cfg.paper.model_fields_set:
            issues.append(
                (
                    f"paper.{name}",
                    "paces a replay; with paper.market_data: venue the venue's data comes as it "
                    "comes: remove it",
                )
            )
    if cfg.data is not None:
        issues.append(
            (
                "data",
                "paper.market_data: venue reads no catalog (the live section's adapters bring "
                "the data): remove the data section, or use market_data: replay",
            )
        )
    if "reconciliation" in cfg.live.model_fields_set:
        issues.append(
            (
                "live.reconciliation",
                "a paper run's orders live on its simulated venue, never at the venue: there is "
                "nothing to reconcile; remove it",
            )
        )
    configured = cfg.live.configured()
    connected = {LIVE_VENUES[name]: name for name in configured}
    if not configured:
        issues.append(
            (
                "live",
                "paper.market_data: venue needs the venue's adapter: live.binance, live.bybit "
                "or live.okx",
            )
        )
    if cfg.live.okx is not None:
        # NautilusTrader 1.231's OKX HTTP client does not build without them, even for data.
        issues.extend(
            (f"live.okx.{field_name}", "OKX's data client needs it too (use ${ENV_VAR})")
            for field_name in cfg.live.okx.missing_credentials()
        )
    for name in configured:
        if LIVE_VENUES[name] not in {venue.name for venue in cfg.venues}:
            issues.append(
                (
                    f"live.{name}",
                    f"its data reaches no simulated venue: add a venue named "
                    f"{LIVE_VENUES[name]!r} to 'venues' (its balances and models fill the "
                    "orders) or remove the section",
                )
            )
    for index, venue in enumerate(cfg.venues):
        if venue.name not in connected:
            issues.append(
                (
                    f"venues[{index}].name",
                    f"no adapter brings market data for venue {venue.name!r} (configured: "
                    f"{sorted(connected) or 'none'}); name the simulated venue after the "
                    "adapter's venue (live.binance -> BINANCE, live.bybit -> BYBIT, live.okx -> "
                    "OKX)",
                )
            )
    for index, spec in enumerate(cfg.instruments):
        if not isinstance(spec, ProvidedInstrumentsSpec) or spec.source != "venue":
            issues.append(
                (
                    f"instruments[{index}]",
                    "with paper.market_data: venue the venue's instrument provider defines the "
                    "instruments (as in live mode): use kind: provided, source: venue, ids: "
                    "[...]",
                )
            )
    return issues


def _semantic_issues(cfg: LiveexecConfig) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    venue_names = [venue.name for venue in cfg.venues]
    for name in _duplicates(venue_names):
        issues.append(("venues", f"venue {name!r} is defined more than once"))
    instrument_ids = cfg.instrument_ids
    for iid in _duplicates(instrument_ids):
        issues.append(("instruments", f"instrument {iid!r} is defined more than once"))
    known = set(instrument_ids)
    simulated = cfg.mode in ("backtest", "paper")

    if not cfg.strategies and not cfg.actors:
        issues.append(("strategies", "a run needs at least one strategy or actor"))
    if simulated:
        if not cfg.venues:
            issues.append(("venues", f"{cfg.mode} mode needs at least one simulated venue"))
        if not cfg.instruments:
            issues.append(("instruments", f"{cfg.mode} mode needs at least one instrument"))
        for index, venue in enumerate(cfg.venues):
            if not venue.starting_balances:
                issues.append(
                    (
                        f"venues[{index}].starting_balances",
                        "a simulated venue needs a starting balance",
                    )
                )
        for index, spec in enumerate(cfg.instruments):
            venues = (
                [spec.venue]
                if not isinstance(spec, ProvidedInstrumentsSpec)
                else [iid.rsplit(".", 1)[1] for iid in spec.ids]
            )
            for venue_name in venues:
                if venue_name not in venue_names:
                    issues.append(
                        (
                            f"instruments[{index}]",
                            f"venue {venue_name!r} is not in 'venues' "
                            f"(defined: {sorted(venue_names)})",
                        )
                    )
    if cfg.mode == "backtest" and cfg.data is None:
        issues.append(("data", "backtest mode needs a 'data' section (catalog and streams)"))
    if cfg.mode == "paper" and cfg.paper.market_data == "replay" and cfg.data is None:
        issues.append(("data", "paper mode replays a 'data' section (catalog and streams)"))
    if cfg.mode == "paper" and cfg.paper.market_data == "venue":
        issues.extend(_venue_data_issues(cfg))
    if cfg.data is not None and known:
        for index, stream in enumerate(cfg.data.streams):
            if stream.instrument_id not in known:
                issues.append(
                    (
                        f"data.streams[{index}].instrument_id",
                        f"{stream.instrument_id!r} is not among the instruments {sorted(known)}",
                    )
                )
    issues.extend(_risk_issues(cfg, known))
    for index, venue in enumerate(cfg.venues):
        for position, balance in enumerate(venue.starting_balances):
            if Decimal(balance.split()[0]) <= 0:
                issues.append(
                    (
                        f"venues[{index}].starting_balances[{position}]",
                        f"{balance!r}: a starting balance must be positive",
                    )
                )
        currencies = [balance.split()[1] for balance in venue.starting_balances]
        for currency in _duplicates(currencies):
            issues.append(
                (
                    f"venues[{index}].starting_balances",
                    f"currency {currency} is given more than once",
                )
            )
        if venue.base_currency is not None and currencies and currencies != [venue.base_currency]:
            issues.append(
                (
                    f"venues[{index}].starting_balances",
                    f"a single-currency account in {venue.base_currency} takes one balance in "
                    f"{venue.base_currency}, not {currencies}",
                )
            )
    for index, spec in enumerate(cfg.instruments):
        for name, low, high in (
            ("maker_fee", -1, 1),
            ("taker_fee", -1, 1),
            ("margin_init", 0, 1),
            ("margin_maint", 0, 1),
        ):
            rate = getattr(spec, name, None)
            if isinstance(rate, Decimal) and not (low <= rate <= high):
                issues.append(
                    (
                        f"instruments[{index}].{name}",
                        f"{rate} is a rate (0.0005 is 5 bps); it must lie between {low} and {high}",
                    )
                )
    accounts = {venue.name: venue.account_type for venue in cfg.venues}
    for iid in cfg.risk.max_notional_per_order:
        if accounts.get(iid.rsplit(".", 1)[1]) == "MARGIN":
            issues.append(
                (
                    f"risk.max_notional_per_order.{iid}",
                    "NautilusTrader 1.231's risk engine skips this check for MARGIN accounts, so "
                    "it would not be enforced; use "
                    f"risk.instruments.{iid}.max_order_notional (liveexec's own check, every "
                    "account type) or trade on a CASH venue",
                )
            )
    if simulated:
        for index, venue in enumerate(cfg.venues):
            if venue.book_type != "L1_MBP":
                issues.append(
                    (
                        f"venues[{index}].book_type",
                        f"{venue.book_type} needs order book data, which liveexec does not "
                        "import yet; use L1_MBP (top of book from quotes, trades or bars)",
                    )
                )
        for index, spec in enumerate(cfg.instruments):
            if isinstance(spec, CryptoPerpetualSpec) and accounts.get(spec.venue) == "CASH":
                issues.append(
                    (
                        f"instruments[{index}]",
                        f"a perpetual trades on margin: venue {spec.venue!r} needs "
                        "account_type MARGIN",
                    )
                )
    if cfg.mode == "live":
        configured = cfg.live.configured()
        if not configured:
            issues.append(("live", "live mode needs at least one venue: binance, bybit or okx"))
        for name, venue_cfg in configured.items():
            for field_name in venue_cfg.missing_credentials():
                issues.append(
                    (f"live.{name}.{field_name}", "required in live mode (use ${ENV_VAR})")
                )
        connected = {LIVE_VENUES[name]: name for name in configured}
        for index, venue in enumerate(cfg.venues):
            if venue.name not in connected:
                issues.append(
                    (
                        f"venues[{index}].name",
                        f"venue {venue.name!r} has no live adapter configured; live mode "
                        f"trades on {sorted(connected) or 'none'} (live.binance -> BINANCE, "
                        "live.bybit -> BYBIT, live.okx -> OKX)",
                    )
                )
        for iid in instrument_ids:
            venue_name = iid.rsplit(".", 1)[1]
            if venue_name not in connected:
                issues.append(
                    (
                        "instruments",
                        f"{iid!r}: venue {venue_name!r} has no live adapter configured "
                        f"(configured: {sorted(connected) or 'none'})",
                    )
                )
    return issues
