"""Progress of a backtest, in simulated time, for progress bars."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pandas as pd
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.common.events import TimeEvent

from liveexec.config import LiveexecConfig
from liveexec.data import open_catalog
from liveexec.nodes import DATA_CLASSES

__all__ = ["ProgressActor", "data_time_range"]


def data_time_range(cfg: LiveexecConfig) -> tuple[int, int] | None:
    """First and last timestamp (ns) of the run's data, from the catalog's file intervals."""
    assert cfg.data is not None
    catalog = open_catalog(cfg.data.catalog)
    starts: list[int] = []
    ends: list[int] = []
    for stream in cfg.data.streams:
        identifier = stream.bar_type if stream.kind == "bars" else stream.instrument_id
        intervals = catalog.get_intervals(DATA_CLASSES[stream.kind], identifier)
        if intervals:
            starts.append(intervals[0][0])
            ends.append(intervals[-1][1])
    if not starts:
        return None
    start, end = min(starts), max(ends)
    if cfg.data.start is not None:
        start = max(start, pd.Timestamp(cfg.data.start).value)
    if cfg.data.end is not None:
        end = min(end, pd.Timestamp(cfg.data.end).value)
    return (start, end) if end > start else None


class ProgressActor(Actor):  # type: ignore[misc]  # NautilusTrader's Actor is an untyped Cython class
    """Calls ``callback(fraction)`` about ``steps`` times as simulated time crosses the data."""

    def __init__(
        self, start_ns: int, end_ns: int, callback: Callable[[float], None], steps: int = 100
    ) -> None:
        super().__init__(ActorConfig(component_id="LiveexecProgress"))
        self._t0_ns = start_ns
        self._span_ns = end_ns - start_ns
        self._report = callback
        self._tick_every = timedelta(microseconds=max(self._span_ns // steps // 1000, 1))

    def on_start(self) -> None:
        self.clock.set_timer(
            name="liveexec-progress", interval=self._tick_every, callback=self._on_tick
        )

    def on_stop(self) -> None:
        self._report(1.0)

    def _on_tick(self, event: TimeEvent) -> None:
        self._report(min(max((event.ts_event - self._t0_ns) / self._span_ns, 0.0), 1.0))
