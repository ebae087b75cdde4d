"""``venues``: simulated in backtest and paper mode (accounts, fee and fill models), the real
venues' names in live mode."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import Field, model_validator

from liveexec.config._base import (
    Check,
    CurrencyCode,
    FrozenModel,
    MoneyStr,
    Probability,
    VenueName,
    duplicates,
    is_simulated,
)
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = ["MAX_LEVERAGE", "VENUE_CHECKS", "FeeModelConfig", "FillModelConfig", "VenueConfig"]

# No venue offers more; a larger number is a typo (an extra zero), not a strategy.
MAX_LEVERAGE = 1000


class FeeModelConfig(FrozenModel):
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


class FillModelConfig(FrozenModel):
    prob_fill_on_limit: Probability = Field(
        default=1.0,
        description="Probability that a limit order fills when the market reaches its price "
        "(NautilusTrader's FillModel).",
    )
    prob_slippage: Probability = Field(
        default=0.0,
        description="Probability that a fill taking liquidity slips one tick.",
    )
    random_seed: int | None = Field(
        default=None,
        description="Seed of the fill model's random draws; unset: different draws each run.",
    )


class VenueConfig(FrozenModel):
    """A trading venue: simulated in backtest and paper mode, real in live mode."""

    name: VenueName = Field(
        description="The venue of the instrument ids it trades, e.g. 'BINANCE' or 'SIM'."
    )
    oms_type: Literal["NETTING", "HEDGING"] = Field(
        default="NETTING",
        description="NETTING: one position per instrument; HEDGING: several, each order "
        "opening its own unless it names one.",
    )
    account_type: Literal["CASH", "MARGIN"] = Field(
        default="MARGIN",
        description="CASH: orders are paid for in full; MARGIN: they take margin (leverage).",
    )
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
    book_type: Literal["L1_MBP", "L2_MBP", "L3_MBO"] = Field(
        default="L1_MBP",
        description="The order book the simulated venue matches against: L1_MBP, top of book "
        "from quotes, trades or bars (L2_MBP, L3_MBO need order book data).",
    )
    bar_execution: bool = Field(
        default=True,
        description="Bars move the simulated venue's market (their open, high, low and close), "
        "so orders fill on bar data.",
    )
    support_contingent_orders: bool = Field(
        default=True,
        description="The simulated venue links contingent orders (OTO/OCO/OUO: brackets). "
        "Off, each order stands alone: a filled take-profit leaves its stop-loss working. Off "
        "also makes long NETTING runs linear in time (NautilusTrader re-reads every order of a "
        "position after each fill to update its contingencies).",
    )
    fee_model: FeeModelConfig = Field(
        default=FeeModelConfig(), description="What the simulated venue charges for a fill."
    )
    fill_model: FillModelConfig = Field(
        default=FillModelConfig(), description="How the simulated venue fills orders."
    )


# --- cross-field checks -------------------------------------------------------------------------


def _validate_venue_names_unique(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    for name in duplicates(venue.name for venue in cfg.venues):
        yield ConfigIssue(
            "venues", f"venue {name!r} is defined more than once", "keep one entry per venue"
        )


def _validate_simulated_venue_exists(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if is_simulated(cfg) and not cfg.venues:
        yield ConfigIssue(
            "venues",
            f"{cfg.mode} mode needs at least one simulated venue",
            "add one under 'venues' with its name, account type and starting balances",
        )


def _validate_starting_balances_given(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not is_simulated(cfg):
        return  # a real venue's account holds what it holds
    for index, venue in enumerate(cfg.venues):
        if not venue.starting_balances:
            yield ConfigIssue(
                f"venues[{index}].starting_balances",
                "a simulated venue needs a starting balance",
                "e.g. starting_balances: ['10000 USDT']",
            )


def _validate_starting_balances_positive(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    for index, venue in enumerate(cfg.venues):
        for position, balance in enumerate(venue.starting_balances):
            if Decimal(balance.split()[0]) <= 0:
                yield ConfigIssue(
                    f"venues[{index}].starting_balances[{position}]",
                    f"{balance!r}: a starting balance must be positive",
                    "leave out a currency the account does not hold",
                )


def _validate_one_balance_per_currency(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    for index, venue in enumerate(cfg.venues):
        currencies = [balance.split()[1] for balance in venue.starting_balances]
        for currency in duplicates(currencies):
            yield ConfigIssue(
                f"venues[{index}].starting_balances",
                f"currency {currency} is given more than once",
                "give each currency one balance",
            )


def _validate_single_currency_account(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    for index, venue in enumerate(cfg.venues):
        currencies = [balance.split()[1] for balance in venue.starting_balances]
        if venue.base_currency is not None and currencies and currencies != [venue.base_currency]:
            yield ConfigIssue(
                f"venues[{index}].starting_balances",
                f"a single-currency account in {venue.base_currency} takes one balance in "
                f"{venue.base_currency}, not {currencies}",
                "drop base_currency for a multi-currency account",
            )


def _validate_book_type_has_data(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not is_simulated(cfg):
        return
    for index, venue in enumerate(cfg.venues):
        if venue.book_type != "L1_MBP":
            yield ConfigIssue(
                f"venues[{index}].book_type",
                f"{venue.book_type} needs order book data, which liveexec does not import yet",
                "use L1_MBP: top of book from quotes, trades or bars",
            )


VENUE_CHECKS: tuple[Check, ...] = (
    _validate_venue_names_unique,
    _validate_simulated_venue_exists,
    _validate_starting_balances_given,
    _validate_starting_balances_positive,
    _validate_one_balance_per_currency,
    _validate_single_currency_account,
    _validate_book_type_has_data,
)
