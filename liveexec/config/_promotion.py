"""``promotion``: what a strategy's runs must show before its config may trade live."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from liveexec.config._base import FrozenModel, NonNegativeDecimal

__all__ = ["PromotionConfig"]


class PromotionConfig(FrozenModel):
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
