"""Wiring every node shares: liveexec's recorder and risk gate attached to a NautilusTrader
kernel, and the catalog a simulated node reads, answering with the config's instruments."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nautilus_trader.backtest.config import BacktestDataConfig
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from sqlalchemy import Engine

from liveexec.config import LiveexecConfig
from liveexec.recording import RecorderActor, RowBuffer
from liveexec.risk import DenialStreaks, build_risk_gate, needs_risk_gate

__all__ = ["add_recorder_and_gate", "node_reading", "with_config_instruments"]


def with_config_instruments(
    catalog: ParquetDataCatalog, instruments: list[Instrument]
) -> ParquetDataCatalog:
    """The catalog, answering instrument queries with the config's definitions of these
    instruments. ``BacktestNode`` adds the instruments it reads from the catalog to the engine
    while it builds it; this way the config's definition is the one added, at the normal time
    (adding it again after the build would make a second matching engine with another id)."""
    if not instruments:
        return catalog
    stored = catalog.instruments
    by_id = {instrument.id: instrument for instrument in instruments}

    def instruments_from_config(
        instrument_type: type | None = None,
        instrument_ids: list[str] | None = None,
        **kwargs: Any,  # noqa: ANN401 (NautilusTrader's query options)
    ) -> list[Instrument]:
        found = stored(instrument_type=instrument_type, instrument_ids=instrument_ids, **kwargs)
        return [by_id.get(instrument.id, instrument) for instrument in found]

    catalog.instruments = instruments_from_config  # type: ignore[method-assign]
    return catalog


def node_reading(catalog: ParquetDataCatalog) -> type[BacktestNode]:
    """``BacktestNode`` reading the catalog liveexec opened, credentials and all, so that no
    storage secret has to go into NautilusTrader's printable ``BacktestDataConfig``."""

    class LiveexecBacktestNode(BacktestNode):
        @classmethod
        def load_catalog(cls, config: BacktestDataConfig) -> ParquetDataCatalog:
            return catalog

    return LiveexecBacktestNode


def add_recorder_and_gate(
    add_actor: Callable[[Any], None],
    kernel: Any,  # noqa: ANN401 (NautilusKernel: untyped Cython)
    cfg: LiveexecConfig,
    buffer: RowBuffer,
    *,
    run_id: str,
    database: Engine,
    denial_streaks: tuple[Sequence[Mapping[str, Any]], int] | None = None,
    **recorder_options: Any,  # noqa: ANN401 (RecorderActor's keyword options)
) -> RecorderActor:
    """The recorder, and liveexec's risk gate when the config asks for one, added to a node
    (``add_actor``: a BacktestEngine's or a TradingNode trader's) and attached: the recorder to
    the message bus, the gate to ``kernel``'s RiskEngine.execute endpoint, which it takes over
    in every node alike (the same decisions in backtest, paper and live). ``denial_streaks``:
    a resumed run's open streaks and their highest decision number, for the gate to go on."""
    gate = build_risk_gate(cfg, run_id=run_id, database=database) if needs_risk_gate(cfg) else None
    if gate is not None:
        gate.streaks = DenialStreaks(run_id, in_full=cfg.logging.denials_in_full)
        if denial_streaks is not None:
            rows, last_seq = denial_streaks
            gate.streaks.restore(rows, last_seq=last_seq)
    recorder = RecorderActor(
        buffer,
        run_id=run_id,
        mode=cfg.mode,
        risk_approved=gate.approved if gate is not None else None,
        denials=gate.streaks if gate is not None else None,
        **recorder_options,
    )
    add_actor(recorder)
    recorder.attach()
    if gate is not None:
        add_actor(gate)
        gate.attach(kernel.risk_engine)
    return recorder
