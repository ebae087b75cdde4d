"""Run a backtest from a liveexec config with NautilusTrader's ``BacktestNode``, recording it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from nautilus_trader.backtest.node import BacktestNode

from liveexec.backtesting._display import notebook_progress
from liveexec.backtesting._progress import ProgressActor, data_time_range
from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.data import open_catalog
from liveexec.db import create_db_engine, database_errors, require_current_schema
from liveexec.errors import RunInterrupted
from liveexec.nodes import (
    RunLog,
    add_recorder_and_gate,
    build_run_config,
    node_reading,
    preflight,
    speed_up_backtest_engine,
    tuned_gc,
    with_config_instruments,
)
from liveexec.recording import (
    RecordBuffer,
    RecorderActor,
    interrupts_ignored,
    recorded_run,
)
from liveexec.runs import (
    Heartbeat,
    RunResult,
    load_run,
    open_run,
    reap_abandoned,
)

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


def _backtest(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    progress: Callable[[float], None] | None = None,
    inspect: EngineInspector | None = None,
) -> RunResult:
    checked = preflight(cfg, source, command="backtest")
    url = resolve_database_url(cfg, override=database_url)
    engine = create_db_engine(url, echo=cfg.database.echo, create=False)
    try:
        run_config = build_run_config(cfg)
        with database_errors(engine, "opening the run"):
            require_current_schema(engine)
            reap_abandoned(engine)
            run_id = open_run(engine, cfg)
        buffer = RecordBuffer(engine, background=False, batch_rows=5_000)
        recorder: RecorderActor | None = None
        node: BacktestNode | None = None
        run_log = RunLog(cfg.logging, run_id)

        def cleanup() -> None:
            if node is not None:
                _dispose(node)
            run_log.finish()

        with (
            Heartbeat(engine, run_id),
            recorded_run(engine, run_id, buffer, lambda: recorder, cleanup) as end,
        ):
            # Inside the guarded block: NautilusTrader validates the run config here, and a
            # failure must close the run row rather than leave it 'running'.
            assert cfg.data is not None  # preflight: backtests have data
            # The catalog's instruments as the config defines them (fees, margins, limits):
            # see preflight for the fields that must agree with the stored data instead.
            run_log.start()
            catalog = with_config_instruments(
                open_catalog(cfg.data.catalog), checked.instrument_overrides
            )
            node = node_reading(catalog)(configs=[run_config])
            node.build()
            bt_engine = node.get_engine(run_config.id)
            if bt_engine is None:
                raise RuntimeError("BacktestNode built no engine for the run")
            speed_up_backtest_engine(bt_engine)  # result-neutral, version-guarded
            recorder = add_recorder_and_gate(
                bt_engine.add_actor, bt_engine.kernel, cfg, buffer, run_id=run_id, database=engine
            )
            time_range = data_time_range(cfg) if progress is not None else None
            if progress is not None and time_range is not None:
                bt_engine.add_actor(ProgressActor(*time_range, progress))
            with tuned_gc():  # restored when the run ends, also on an error
                node.run()
            recorder.raise_failure()
            recorder.flush(final=True)
            if inspect is not None:
                inspect(bt_engine)
        end.raise_unless_completed()
        try:
            with database_errors(engine, f"reading run {run_id}"):
                return dataclasses.replace(load_run(engine, run_id), log_file=run_log.file)
        except KeyboardInterrupt:
            raise RunInterrupted(run_id, end.status) from None  # the run itself had completed
    finally:
        with interrupts_ignored():  # the run row is closed: nothing left to interrupt
            engine.dispose()
