"""Everything liveexec changes in NautilusTrader's behaviour, in one place, guarded by its version.

Only speed is changed, never a result. Each patch is written against the NautilusTrader source of
the versions in :data:`TESTED_VERSIONS` and proved result-neutral there by
``tests/unit/test_compat.py`` (identical orders, fills, positions, balances and analyzer series
with and without it, on real data). Outside that range nothing is patched and a warning is
logged: the run is then exactly NautilusTrader's own, only slower. Refusing to run would block a
NautilusTrader upgrade for the sake of an optimisation, and patching blindly could silently change
results if the private code it relies on changed; skipping is the one choice that stays correct.

Patches:

``buffered-analyzer-trades``
    NautilusTrader's ``Portfolio`` calls ``PortfolioAnalyzer.record_trade`` on every closed
    position, even with ``run_analysis=False``, and each call does two ``pd.concat`` of the whole
    history so far (NautilusTrader issue #4434): quadratic in closed positions, about half the
    engine time of a 4,136-order run. The engine's analyzer instance is switched to a subclass that
    appends each trade to plain lists and builds the same two pandas series, in the same order with
    the same values, index and dtypes, the first time anything reads them.

:func:`tuned_gc` (not a NautilusTrader patch: the process's garbage collector, for the duration of
a run) freezes everything alive before the run (modules, config, engine, the loaded data) out of
the collector's sight and collects the youngest generation less often. Python's full collections
otherwise re-scan all of it again and again while the run allocates events: about 0.5 s of CPU
in a 7 s liveexec backtest of the example config. Objects are neither freed early nor kept:
everything is unfrozen and the thresholds restored when the run ends, also on an error.
"""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import nautilus_trader
import pandas as pd
from nautilus_trader.analysis.analyzer import PortfolioAnalyzer
from nautilus_trader.model.identifiers import PositionId
from nautilus_trader.model.objects import Currency, Money

__all__ = [
    "NAUTILUS_VERSION",
    "TESTED_VERSIONS",
    "BufferedTradesAnalyzer",
    "parse_version",
    "speed_up_backtest_engine",
    "tuned_gc",
    "version_is_tested",
]

_log = logging.getLogger("liveexec.compat")

NAUTILUS_VERSION: str = nautilus_trader.__version__

# Lowest included, highest excluded. Widen only after tests/unit/test_compat.py passes on the
# new version: the patches rely on private attributes that NautilusTrader may change in a patch
# release.
TESTED_VERSIONS: tuple[tuple[int, int, int], tuple[int, int, int]] = ((1, 231, 0), (1, 232, 0))

_RECORDED_PNLS = "_recorded_realized_pnls"
_RECORDED_TIMESTAMPS = "_recorded_realized_pnl_timestamps"


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.231.0"`` (or ``"1.231.0rc1"``, ``"1.231"``) as ``(1, 231, 0)``."""
    match = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        raise ValueError(f"not a NautilusTrader version: {text!r}")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def version_is_tested(version: str = NAUTILUS_VERSION) -> bool:
    low, high = TESTED_VERSIONS
    return low <= parse_version(version) < high


class BufferedTradesAnalyzer(PortfolioAnalyzer):
    """``PortfolioAnalyzer`` whose ``record_trade`` costs O(1) instead of O(trades so far).

    Trades are kept in lists and turned into the analyzer's recorded-PnL series (one
    ``pd.concat`` per batch) the first time anything reads those series, so every reader sees
    exactly what NautilusTrader's own ``record_trade`` would have built.
    """

    # Pending trades per currency: position ids, realized PnL as float, ts_event (int or None).
    _pending: dict[Currency, tuple[list[str], list[float], list[int | None]]]

    @classmethod
    def install(cls, analyzer: PortfolioAnalyzer) -> None:
        """Switch an existing analyzer (the portfolio's, which cannot be replaced) to this class."""
        if type(analyzer) is not PortfolioAnalyzer:
            raise TypeError(f"expected a PortfolioAnalyzer, got {type(analyzer).__name__}")
        state = vars(analyzer)
        if _RECORDED_PNLS not in state or _RECORDED_TIMESTAMPS not in state:
            raise TypeError("PortfolioAnalyzer has no recorded-PnL series to buffer")
        analyzer.__class__ = cls
        analyzer.__dict__["_pending"] = {}

    def record_trade(
        self, position_id: PositionId, realized_pnl: Money, ts_event: int | None = None
    ) -> None:
        pending = self._pending.get(realized_pnl.currency)
        if pending is None:
            pending = self._pending[realized_pnl.currency] = ([], [], [])
        ids, pnls, timestamps = pending
        ids.append(position_id.value)
        pnls.append(realized_pnl.as_double())
        timestamps.append(int(ts_event) if ts_event is not None else None)

    def _flush_pending(self) -> None:
        pending, self.__dict__["_pending"] = self._pending, {}
        recorded_pnls: dict[Currency, pd.Series] = self.__dict__[_RECORDED_PNLS]
        recorded_timestamps: dict[Currency, pd.Series] = self.__dict__[_RECORDED_TIMESTAMPS]
        for currency, (ids, pnls, timestamps) in pending.items():
            # The same constructors as PortfolioAnalyzer._append_pnl_record, for all rows at once.
            new_pnls = pd.Series(pnls, index=ids, dtype="float64")
            new_timestamps = pd.Series(timestamps, index=ids, dtype=object)
            old_pnls = recorded_pnls.get(currency)
            old_timestamps = recorded_timestamps.get(currency)
            recorded_pnls[currency] = (
                new_pnls if old_pnls is None else pd.concat([old_pnls, new_pnls])
            )
            recorded_timestamps[currency] = (
                new_timestamps
                if old_timestamps is None
                else pd.concat([old_timestamps, new_timestamps])
            )

    def _get_recorded_pnls(self) -> dict[Currency, pd.Series]:
        if self._pending:
            self._flush_pending()
        value: dict[Currency, pd.Series] = self.__dict__[_RECORDED_PNLS]
        return value

    def _set_recorded_pnls(self, value: dict[Currency, pd.Series]) -> None:
        # PortfolioAnalyzer.reset assigns both dicts: what was pending is reset with them.
        self.__dict__["_pending"] = {}
        self.__dict__[_RECORDED_PNLS] = value

    def _get_recorded_timestamps(self) -> dict[Currency, pd.Series]:
        if self._pending:
            self._flush_pending()
        value: dict[Currency, pd.Series] = self.__dict__[_RECORDED_TIMESTAMPS]
        return value

    def _set_recorded_timestamps(self, value: dict[Currency, pd.Series]) -> None:
        self.__dict__["_pending"] = {}
        self.__dict__[_RECORDED_TIMESTAMPS] = value

    # Data descriptors win over the instance dict, so every read of these attributes, from
    # NautilusTrader's own methods too, goes through the flush.
    _recorded_realized_pnls = property(_get_recorded_pnls, _set_recorded_pnls)
    _recorded_realized_pnl_timestamps = property(_get_recorded_timestamps, _set_recorded_timestamps)


def _buffer_analyzer_trades(engine: Any) -> None:  # noqa: ANN401 (BacktestEngine is untyped)
    BufferedTradesAnalyzer.install(engine.portfolio.analyzer)


_PATCHES: dict[str, Callable[[Any], None]] = {
    "buffered-analyzer-trades": _buffer_analyzer_trades,
}


def speed_up_backtest_engine(
    engine: Any,  # noqa: ANN401 (NautilusTrader's BacktestEngine is untyped)
    *,
    version: str = NAUTILUS_VERSION,
) -> tuple[str, ...]:
    """Apply liveexec's result-neutral speed-ups to a built, not yet run ``BacktestEngine``.

    Returns the names of the patches applied: none, with a logged warning, when ``version`` is
    outside :data:`TESTED_VERSIONS` or NautilusTrader's internals no longer look as expected.
    """
    if not version_is_tested(version):
        low, high = TESTED_VERSIONS
        _log.warning(
            "NautilusTrader %s is outside the versions liveexec's speed-ups were tested with "
            "(>=%s,<%s): running NautilusTrader unpatched (same results, slower)",
            version,
            ".".join(map(str, low)),
            ".".join(map(str, high)),
        )
        return ()
    applied: list[str] = []
    for name, patch in _PATCHES.items():
        try:
            patch(engine)
        except (AttributeError, TypeError) as exc:
            _log.warning("liveexec speed-up %r not applied: %s", name, exc)
        else:
            applied.append(name)
    return tuple(applied)


# Youngest generation collected every 10,000 net allocations instead of 700; older generations
# less often too. Measured on the example config (benchmarks/backtest_speed.py).
RUN_GC_THRESHOLDS = (10_000, 20, 20)


@contextmanager
def tuned_gc() -> Iterator[None]:
    """Run a backtest with the garbage collector tuned for it; restored afterwards.

    Wrap ``node.run()`` (not the build: what exists before the run is what gets frozen).
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        # All or nothing: this also unfreezes what was frozen before (CPython 3.12 itself starts
        # with a few hundred objects frozen). That only makes them collectable again.
        gc.unfreeze()
