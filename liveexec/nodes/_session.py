"""One run session: the envelope every recorded run has, whatever node runs it.

:func:`run_node` owns a run from its first database access to its read-back: the schema checked
and dead runs reaped; the last checks that need the database; the run row opened (or reopened
by a resume) under the trader id's lease where the mode needs one; the record buffer; the
supervisor thread (heartbeats, stop requests); NautilusTrader's log kept as the run's own file;
the recorder and risk gate attached by the node; the final flush; the row closed with the outcome
and the node disposed whatever happened (``recording.recorded_run``); the result read back.

How the node itself is built and run is a :class:`NodeRun`, one per way of running a node:
``BacktestNode`` (liveexec.backtesting), a catalog replay and a venue-connected ``TradingNode``
(liveexec.trading). NautilusTrader's ``system/kernel.py`` and ``live/node.py`` (build, run,
stop, dispose as separate steps) are the model.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.db import create_db_engine, database_errors, require_current_schema
from liveexec.errors import RunInterrupted
from liveexec.nodes._logs import RunLog
from liveexec.nodes._wiring import add_recorder_and_gate
from liveexec.recording import RecorderActor, RowBuffer, interrupts_ignored, recorded_run
from liveexec.runs import (
    Lease,
    RunResult,
    Supervisor,
    leased_run,
    load_run,
    reap_abandoned,
    release_lease,
)

__all__ = ["NodeRun", "RunSession", "run_node"]


@dataclass
class RunSession:
    """What a node run is given: the run's row, lease, buffer and supervisor; the recorder once
    :meth:`attach` has added it (with the risk gate) to the node."""

    cfg: LiveexecConfig
    engine: Engine
    run_id: str
    buffer: RowBuffer
    supervisor: Supervisor
    lease: Lease | None = None
    recorder: RecorderActor | None = None

    def attach(
        self,
        add_actor: Any,  # noqa: ANN401 (a node's add_actor: untyped Cython)
        kernel: Any,  # noqa: ANN401 (NautilusKernel)
        **recorder_options: Any,  # noqa: ANN401 (RecorderActor's keyword options)
    ) -> RecorderActor:
        """The recorder and, when the config asks for one, the risk gate, added to the node."""
        self.recorder = add_recorder_and_gate(
            add_actor,
            kernel,
            self.cfg,
            self.buffer,
            run_id=self.run_id,
            database=self.engine,
            **recorder_options,
        )
        return self.recorder


class NodeRun(Protocol):
    """One way of running a node inside a :class:`RunSession`."""

    leased: bool  # one node per trader id and database (paper, live)
    # A recording failure leaves the run resumable (closed 'abandoned'): a paper replay.
    resumable: bool

    def before_open(self, engine: Engine) -> None:
        """The last checks that need the database, before anything is written."""

    def open_row(self, engine: Engine) -> str:
        """Open the run row (or reopen the one resumed); its run id."""

    def buffer(self, engine: Engine) -> RowBuffer:
        """Where the recorder's rows go."""

    def environment(self) -> AbstractContextManager[None]:
        """Held while the node exists (e.g. the venue keys in the adapters' variables)."""

    def run(self, session: RunSession) -> str | None:
        """Build the node (attaching the recorder with ``session.attach``) and run it to its end;
        the note of a completed run. Ctrl-C raises KeyboardInterrupt, a failure its error."""

    def dispose(self) -> None:
        """Dispose of the node (and what it held); called once, however the run ended."""

    def closed(self) -> None:
        """After the run row is closed (timings)."""


def _release_quietly(engine: Engine, lease: Lease) -> None:
    # The lease goes even if the database is unreachable now: a dead owner's lease is taken
    # over by the next start, and this process is about to stop owning a node.
    with contextlib.suppress(SQLAlchemyError):
        release_lease(engine, lease)


@contextlib.contextmanager
def _opened(cfg: LiveexecConfig, url: str) -> Iterator[Engine]:
    engine = create_db_engine(url, echo=cfg.database.echo, create=False)
    try:
        yield engine
    finally:
        with interrupts_ignored():  # the run row is closed: nothing left to interrupt
            engine.dispose()


def run_node(cfg: LiveexecConfig, node_run: NodeRun, *, database_url: str | None) -> RunResult:
    """Run ``node_run`` as one recorded run of ``cfg``; the result read back from the database.

    A failure before the row is opened writes nothing; after, the row is closed with the
    outcome (failed and why, interrupted, abandoned for a resumable recording failure) and
    :class:`~liveexec.errors.RunFailedError` or :class:`~liveexec.errors.RunInterrupted`
    raised; the node is disposed and the lease released whatever happened.
    """
    with _opened(cfg, resolve_database_url(cfg, override=database_url)) as engine:
        with database_errors(engine, "opening the run"):
            require_current_schema(engine)
            reap_abandoned(engine)
            node_run.before_open(engine)
            lease: Lease | None = None
            if node_run.leased:
                lease, run_id = leased_run(
                    engine, cfg.trader_id, cfg.mode, lambda: node_run.open_row(engine)
                )
            else:
                run_id = node_run.open_row(engine)
        try:
            buffer = node_run.buffer(engine)
        except BaseException:
            if lease is not None:
                _release_quietly(engine, lease)
            raise
        session = RunSession(cfg, engine, run_id, buffer, Supervisor(engine, run_id, lease), lease)
        run_log = RunLog(cfg.logging, run_id)

        def cleanup() -> None:
            try:
                node_run.dispose()
            finally:
                if lease is not None:
                    _release_quietly(engine, lease)
                run_log.finish()

        with (
            session.supervisor,
            node_run.environment(),
            recorded_run(
                engine,
                run_id,
                buffer,
                lambda: session.recorder,
                cleanup,
                resumable=node_run.resumable,
            ) as end,
        ):
            run_log.start()
            note = node_run.run(session)
            recorder = session.recorder
            if recorder is None:
                raise RuntimeError("the node ran without liveexec's recorder")
            recorder.raise_failure()
            recorder.flush(final=True)
            end.error = note
        node_run.closed()
        end.raise_unless_completed()
        try:
            with database_errors(engine, f"reading run {run_id}"):
                return dataclasses.replace(
                    load_run(engine, run_id), log_file=run_log.file, warnings=run_log.warnings
                )
        except KeyboardInterrupt:
            raise RunInterrupted(run_id, end.status) from None  # the run itself had ended
