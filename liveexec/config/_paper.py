"""``paper``: where a paper run's market data comes from (a catalog replayed, or a venue's live
data) and how a replay is paced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from liveexec.config._base import Check, FrozenModel
from liveexec.config._instruments import ProvidedInstrumentsSpec
from liveexec.config._live import LIVE_VENUES
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = ["PAPER_CHECKS", "PaperConfig"]


class PaperConfig(FrozenModel):
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
    fills differ from the backtest's (measured in docs/ROADMAP.md).
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


# --- cross-field checks: paper on a venue's market data ---------------------------------------
# The venue's adapters bring the data and the instruments, the simulated venues of the same
# names fill the orders.

# PaperConfig's fields that only pace a replay.
_REPLAY_FIELDS = ("speed", "min_gap_ms", "wait_for_node")


def _on_venue_data(cfg: LiveexecConfig) -> bool:
    return cfg.mode == "paper" and cfg.paper.market_data == "venue"


def _validate_no_replay_pacing(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not _on_venue_data(cfg):
        return
    for name in _REPLAY_FIELDS:
        if name in cfg.paper.model_fields_set:
            yield ConfigIssue(
                f"paper.{name}",
                "paces a replay; with paper.market_data: venue the venue's data comes as it comes",
                "remove it",
            )


def _validate_no_catalog(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if _on_venue_data(cfg) and cfg.data is not None:
        yield ConfigIssue(
            "data",
            "paper.market_data: venue reads no catalog (the live section's adapters bring the "
            "data)",
            "remove the data section, or use market_data: replay",
        )


def _validate_no_reconciliation(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if _on_venue_data(cfg) and "reconciliation" in cfg.live.model_fields_set:
        yield ConfigIssue(
            "live.reconciliation",
            "a paper run's orders live on its simulated venue, never at the venue: there is "
            "nothing to reconcile",
            "remove it",
        )


def _validate_data_adapter_given(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if _on_venue_data(cfg) and not cfg.live.configured():
        yield ConfigIssue(
            "live",
            "paper.market_data: venue needs the venue's adapter: live.binance, live.bybit or "
            "live.okx",
            "add the adapter of the venue whose data the run trades on",
        )


def _validate_okx_data_keys(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not _on_venue_data(cfg) or cfg.live.okx is None:
        return
    # NautilusTrader 1.231's OKX HTTP client does not build without them, even for data.
    for field_name in cfg.live.okx.missing_credentials():
        yield ConfigIssue(
            f"live.okx.{field_name}", "OKX's data client needs it too", "use ${ENV_VAR}"
        )


def _validate_adapters_reach_venues(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not _on_venue_data(cfg):
        return
    simulated = {venue.name for venue in cfg.venues}
    for name in cfg.live.configured():
        if LIVE_VENUES[name] not in simulated:
            yield ConfigIssue(
                f"live.{name}",
                "its data reaches no simulated venue",
                f"add a venue named {LIVE_VENUES[name]!r} to 'venues', whose balances and models "
                "fill the orders, or remove the section",
            )


def _validate_venues_get_data(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not _on_venue_data(cfg):
        return
    connected = sorted(LIVE_VENUES[name] for name in cfg.live.configured())
    for index, venue in enumerate(cfg.venues):
        if venue.name not in connected:
            yield ConfigIssue(
                f"venues[{index}].name",
                f"no adapter brings market data for venue {venue.name!r} (configured: "
                f"{connected or 'none'})",
                "name the simulated venue after the adapter's venue: live.binance: BINANCE, "
                "live.bybit: BYBIT, live.okx: OKX",
            )


def _validate_venue_provides_instruments(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not _on_venue_data(cfg):
        return
    for index, spec in enumerate(cfg.instruments):
        if not isinstance(spec, ProvidedInstrumentsSpec) or spec.source != "venue":
            yield ConfigIssue(
                f"instruments[{index}]",
                "with paper.market_data: venue the venue's instrument provider defines the "
                "instruments (as in live mode)",
                "use kind: provided, source: venue, ids: [...]",
            )


PAPER_CHECKS: tuple[Check, ...] = (
    _validate_no_replay_pacing,
    _validate_no_catalog,
    _validate_no_reconciliation,
    _validate_data_adapter_given,
    _validate_okx_data_keys,
    _validate_adapters_reach_venues,
    _validate_venues_get_data,
    _validate_venue_provides_instruments,
)
