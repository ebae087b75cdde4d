"""``stop``: what a paper or live node does with its orders and positions when it is stopped."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from liveexec.config._base import FrozenModel

__all__ = ["StopConfig"]


class StopConfig(FrozenModel):
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
