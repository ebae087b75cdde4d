"""``live``: NautilusTrader's own venue adapters (Binance, Bybit, OKX) with their keys, for live
mode and for paper on a venue's market data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr

from liveexec.config._base import Check, FrozenModel, venue_of
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = [
    "LIVE_CHECKS",
    "LIVE_VENUES",
    "BinanceLiveConfig",
    "BybitLiveConfig",
    "LiveConfig",
    "OkxLiveConfig",
]


class _VenueCredentials(FrozenModel):
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


class LiveConfig(FrozenModel):
    """Live trading (``mode: live``) through NautilusTrader's own venue adapters.

    Each configured section adds that venue's data and execution clients to the node; the
    config's ``venues`` and ``instruments`` name what it trades there.
    """

    binance: BinanceLiveConfig | None = Field(
        default=None, description="Binance's adapter (venue BINANCE); unset: not connected."
    )
    bybit: BybitLiveConfig | None = Field(
        default=None, description="Bybit's adapter (venue BYBIT); unset: not connected."
    )
    okx: OkxLiveConfig | None = Field(
        default=None, description="OKX's adapter (venue OKX); unset: not connected."
    )
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


# --- cross-field checks (mode: live; paper on venue data has its own, in _paper.py) -----------

_ADAPTER_VENUES = "live.binance: BINANCE, live.bybit: BYBIT, live.okx: OKX"


def _connected(cfg: LiveexecConfig) -> list[str]:
    return sorted(LIVE_VENUES[name] for name in cfg.live.configured())


def _validate_live_has_adapter(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if cfg.mode == "live" and not cfg.live.configured():
        yield ConfigIssue(
            "live",
            "live mode needs at least one venue: binance, bybit or okx",
            "add live.binance, live.bybit or live.okx with its keys as ${ENV_VAR}",
        )


def _validate_live_credentials_given(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if cfg.mode != "live":
        return
    for name, venue_cfg in cfg.live.configured().items():
        for field_name in venue_cfg.missing_credentials():
            yield ConfigIssue(
                f"live.{name}.{field_name}",
                "required in live mode",
                f"write it as ${{ENV_VAR}}, e.g. {field_name}: ${{{name.upper()}_"
                f"{field_name.removeprefix('api_').upper()}}}",
            )


def _validate_live_venues_have_adapters(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if cfg.mode != "live":
        return
    connected = _connected(cfg)
    for index, venue in enumerate(cfg.venues):
        if venue.name not in connected:
            yield ConfigIssue(
                f"venues[{index}].name",
                f"venue {venue.name!r} has no live adapter configured; live mode trades on "
                f"{connected or 'none'}",
                f"name a venue an adapter connects ({_ADAPTER_VENUES}), or add its adapter",
            )


def _validate_live_instruments_have_adapters(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if cfg.mode != "live":
        return
    connected = _connected(cfg)
    for iid in cfg.instrument_ids:
        venue_name = venue_of(iid)
        if venue_name not in connected:
            yield ConfigIssue(
                "instruments",
                f"{iid!r}: venue {venue_name!r} has no live adapter configured (configured: "
                f"{connected or 'none'})",
                f"trade an instrument of a configured venue ({_ADAPTER_VENUES}), or add its "
                "adapter",
            )


LIVE_CHECKS: tuple[Check, ...] = (
    _validate_live_has_adapter,
    _validate_live_credentials_given,
    _validate_live_venues_have_adapters,
    _validate_live_instruments_have_adapters,
)
