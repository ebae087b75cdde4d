"""Run a backtest from a liveexec config with NautilusTrader's ``BacktestNode``, recording it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from nautilus_trader.backtest.node import BacktestNode
from sqlalchemy import Engine

from liveexec.backtesting._display import notebook_progress
from liveexec.backtesting._progress import ProgressActor, data_time_range
from liveexec.config import LiveexecConfig
from liveexec.data import open_catalog
from liveexec.nodes import (
    Preflight,
    RunSession,
    build_run_config,
    node_reading,
    preflight,
    run_node,
    speed_up_backtest_engine,
    tuned_gc,
    with_config_instruments,
)
from liveexec.recording import RecordBuffer, RowBuffer
from liveexec.runs import RunResult, open_run

__all__ = ["backtest"]

# Called with the finished BacktestEngine before it is disposed: how tests look at NautilusTrader's
# own view of a run. Not public: users get everything from the tables.
EngineInspector = Callable[[Any], None]


def _dispose(node: Any) -> None:  # noqa: ANN401 (BacktestNode.dispose is untyped)
    node.dispose()


def backtest(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    progress: Callable[[float], None] | None = None,
) -> RunResult:
    """Run ``cfg`` as a backtest; every order, fill and position lands in the database.

    Bad input fails before anything is written (the checks of :func:`preflight`). A failure
    during the run marks the run ``failed`` (Ctrl-C: ``interrupted``) after flushing what was
    recorded. ``progress`` is called with the fraction of the data's time range simulated so far;
    without one, a progress bar is shown when the call runs in a notebook kernel. NautilusTrader's
    log lines of the run are kept in ``result.log_file`` (see the config's ``logging`` section).
    """
    if progress is None:
        progress = notebook_progress()
    return _backtest(cfg, database_url=database_url, source=source, progress=progress)


class BacktestRun:
    """A backtest as a :class:`~liveexec.nodes.NodeRun`: ``BacktestNode`` on the catalog, no
    lease (backtests of one trader id may run side by side), rows written in the node's own
    thread in batches."""

    leased = False
    resumable = False

    def __init__(
        self,
        cfg: LiveexecConfig,
        checked: Preflight,
        *,
        progress: Callable[[float], None] | None,
        inspect: EngineInspector | None,
    ) -> None:
        self.cfg = cfg
        self.checked = checked
        self.progress = progress
        self.inspect = inspect
        self.run_config = build_run_config(cfg)
        self.node: BacktestNode | None = None

    def before_open(self, engine: Engine) -> None:
        pass

    def open_row(self, engine: Engine) -> str:
        return open_run(engine, self.cfg)

    def buffer(self, engine: Engine) -> RowBuffer:
        return RecordBuffer(engine, background=False, batch_rows=5_000)

    def environment(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def run(self, session: RunSession) -> str | None:
        cfg, run_config = self.cfg, self.run_config
        # Inside the guarded block: NautilusTrader validates the run config here, and a failure
        # must close the run row rather than leave it 'running'.
        assert cfg.data is not None  # preflight: backtests have data
        # The catalog's instruments as the config defines them (fees, margins, limits): see
        # preflight for the fields that must agree with the stored data instead.
        catalog = with_config_instruments(
            open_catalog(cfg.data.catalog), self.checked.instrument_overrides
        )
        self.node = node = node_reading(catalog)(configs=[run_config])
        node.build()
        bt_engine = node.get_engine(run_config.id)
        if bt_engine is None:
            raise RuntimeError("BacktestNode built no engine for the run")
        speed_up_backtest_engine(bt_engine)  # result-neutral, version-guarded
        session.attach(bt_engine.add_actor, bt_engine.kernel)
        time_range = data_time_range(cfg) if self.progress is not None else None
        if self.progress is not None and time_range is not None:
            bt_engine.add_actor(ProgressActor(*time_range, self.progress))
        with tuned_gc():  # restored when the run ends, also on an error
            node.run()
        if self.inspect is not None:
            assert session.recorder is not None
            session.recorder.raise_failure()
            session.recorder.flush(final=True)
            self.inspect(bt_engine)
        return None

    def dispose(self) -> None:
        if self.node is not None:
            _dispose(self.node)

    def closed(self) -> None:
        pass


def _backtest(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    progress: Callable[[float], None] | None = None,
    inspect: EngineInspector | None = None,
) -> RunResult:
    checked = preflight(cfg, source, command="backtest")
    node_run = BacktestRun(cfg, checked, progress=progress, inspect=inspect)
    return run_node(cfg, node_run, database_url=database_url)
