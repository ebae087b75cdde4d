"""A paper or live run in a child process, for callers that are not a plain script's main thread.

NautilusTrader's ``TradingNode`` installs signal handlers on its event loop (main thread only)
and ``dispose()`` tears down process-wide state (it killed a Jupyter kernel in a probe). From a
notebook, or any thread but the main one, the node runs in a fresh (spawned) process; progress
comes back over a pipe while it runs, errors come back as the same liveexec exceptions, and the
result is read from the database, where the child recorded everything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.db import create_db_engine, database_errors, error_text
from liveexec.errors import (
    ConfigError,
    DatabaseError,
    DatabaseUnavailableError,
    DataError,
    LiveexecError,
    RunFailedError,
    RunInterrupted,
    SchemaOutOfDateError,
)
from liveexec.runs import RunResult, load_run

__all__ = ["in_notebook", "live_in_subprocess", "paper_in_subprocess", "should_use_subprocess"]

_DATABASE_ERRORS: dict[str, type[DatabaseError]] = {
    cls.__name__: cls for cls in (DatabaseError, DatabaseUnavailableError, SchemaOutOfDateError)
}


def in_notebook() -> bool:
    """True inside a Jupyter/IPython kernel."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    kernel = get_ipython() if callable(get_ipython) else None
    return kernel is not None and "IPKernelApp" in getattr(kernel, "config", {})


def should_use_subprocess() -> bool:
    return in_notebook() or threading.current_thread() is not threading.main_thread()


def _encode_error(exc: BaseException) -> tuple[Any, ...]:
    if isinstance(exc, RunInterrupted):
        return ("interrupted", exc.run_id, exc.status)
    if isinstance(exc, RunFailedError):
        return ("failed", exc.run_id, exc.error)
    if isinstance(exc, ConfigError):
        return ("config", exc.source, list(exc.issues))
    if isinstance(exc, DataError):
        return ("data", exc.file, exc.problem)
    if isinstance(exc, DatabaseError):
        return ("database", type(exc).__name__, str(exc))
    return ("crash", f"{type(exc).__name__}: {error_text(exc)}")


def _decode_error(message: tuple[Any, ...]) -> BaseException:
    kind = message[0]
    if kind == "interrupted":
        return RunInterrupted(message[1], message[2])
    if kind == "failed":
        return RunFailedError(message[1], message[2])
    if kind == "config":
        return ConfigError(message[1], message[2])
    if kind == "data":
        return DataError(message[1], message[2])
    if kind == "database":
        return _DATABASE_ERRORS.get(message[1], DatabaseError)(message[2])
    return LiveexecError(f"the node's process failed: {message[1]}")


@dataclass(frozen=True)
class _Job:
    """What the child process runs (pickled to it)."""

    kind: Literal["paper", "live"]
    cfg: LiveexecConfig
    database_url: str
    source: str
    force: bool = False
    force_reason: str | None = None
    fresh: bool = False  # paper: a new run even if the last one died (no resume)


def _child(
    job: _Job, connection: Connection
) -> None:  # pragma: no cover (runs in the child process; tested through the callers below)
    # The parent forwards its own Ctrl-C as SIGINT; the node handles it once it runs.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if job.kind == "live":
            from liveexec.trading._live_run import live_in_process  # noqa: PLC0415 (child only)

            result = live_in_process(
                job.cfg,
                database_url=job.database_url,
                source=job.source,
                force=job.force,
                force_reason=job.force_reason,
            )
        else:
            from liveexec.trading._run import paper_in_process  # noqa: PLC0415 (child only)

            result = paper_in_process(
                job.cfg,
                database_url=job.database_url,
                source=job.source,
                progress=lambda fraction: connection.send(("progress", fraction)),
                fresh=job.fresh,
            )
        # The log file and its warnings are the child's to find; the rest is in the database.
        connection.send(("done", result.run_id, result.log_file, result.warnings))
    except BaseException as exc:  # every outcome goes back to the parent
        connection.send(("error", _encode_error(exc)))
    finally:
        connection.close()


def paper_in_subprocess(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    progress: Callable[[float], None] | None = None,
    fresh: bool = False,
) -> RunResult:
    """Run the paper node of ``cfg`` in a spawned child process; the result is read from the
    database.

    Ctrl-C (a notebook's interrupt) is forwarded to the child, which stops the node gracefully
    and closes the run ``interrupted``; this call then raises :class:`RunInterrupted`.
    """
    url = resolve_database_url(cfg, override=database_url)
    return _in_subprocess(_Job("paper", cfg, url, source, fresh=fresh), progress)


def live_in_subprocess(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    force: bool = False,
    force_reason: str | None = None,
) -> RunResult:
    """Run the live node of ``cfg`` in a spawned child process until it is asked to stop
    (``liveexec stop TRADER_ID`` from anywhere, or the notebook's interrupt, forwarded to the
    child as Ctrl-C); the result is read from the database."""
    url = resolve_database_url(cfg, override=database_url)
    return _in_subprocess(_Job("live", cfg, url, source, force, force_reason), None)


def _in_subprocess(job: _Job, progress: Callable[[float], None] | None) -> RunResult:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(job, send),
        name=f"liveexec-{job.kind}",
        daemon=False,
    )
    child.start()
    send.close()
    outcome: tuple[Any, ...] | None = None
    try:
        while outcome is None:
            try:
                if not receive.poll(0.1):
                    if not child.is_alive() and not receive.poll(0):
                        break
                    continue
                message = receive.recv()
            except EOFError:
                break
            except KeyboardInterrupt:
                if child.pid is not None and child.is_alive():
                    os.kill(child.pid, signal.SIGINT)
                continue
            if message[0] == "progress":
                if progress is not None:
                    progress(message[1])
            else:
                outcome = message
    finally:
        child.join()
        with contextlib.suppress(OSError):
            receive.close()
    if outcome is None:
        raise LiveexecError(
            f"the {job.kind} node's process ended (exit code {child.exitcode}) without a result; "
            "its run, if one was opened, is marked 'abandoned' by the next command"
        )
    if outcome[0] == "error":
        raise _decode_error(outcome[1])
    _, run_id, log_file, warnings = outcome
    engine = create_db_engine(job.database_url, echo=job.cfg.database.echo, create=False)
    try:
        with database_errors(engine, f"reading run {run_id}"):
            result = load_run(engine, run_id)
            return dataclasses.replace(result, log_file=log_file, warnings=warnings)
    finally:
        engine.dispose()
