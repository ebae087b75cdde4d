"""Run a live node (``mode: live``): NautilusTrader's ``TradingNode`` with the venues' own
adapters (liveexec.trading._adapters), recorded as backtests and paper runs are.

Everything that can be refused is refused before anything is written or connected: the mode,
missing or empty keys (naming the field; a missing ``${VAR}`` names the variable when the file
is loaded), components that do not import, a venue a strategy names that no adapter connects,
a database schema not at head, a config the promotion gate has not approved (unless forced, and
the override is recorded), a trader id another live process runs. Then the lease is taken, the
run row opened, the node built with the keys in its adapters' environment variables, and run
until a stop request (``liveexec stop``), Ctrl-C or SIGTERM, which stop it gracefully per the
config's ``stop`` policy.

There is no internet where liveexec is tested: the tests run this path up to the connection,
which then fails (the run is closed ``failed``, naming why); they never reach a venue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from sqlalchemy import Engine

from liveexec.config import LiveexecConfig
from liveexec.nodes import RunSession, preflight, run_log_directory, run_node
from liveexec.recording import ProcessRecordBuffer, RowBuffer
from liveexec.runs import RunResult, open_run
from liveexec.trading._adapters import (
    adapter_credentials,
    add_live_factories,
    build_live_node_config,
    credentials_in_environment,
)
from liveexec.trading._driver import (
    FLUSH_EVERY_S,
    NodeDriver,
    NodeStartTimeoutError,
    dispose_node,
    signals_to,
    stop_note,
    watched,
)

__all__ = ["VenueNode", "live_in_process", "run_until_stopped"]


def run_log_path(cfg: LiveexecConfig, run_id: str) -> str:
    """Where the run's NautilusTrader log lines are kept (liveexec.nodes.RunLog)."""
    return str(run_log_directory(cfg.logging) / f"{run_id}.log")


def _promotion_gate(engine: Any, cfg: LiveexecConfig, force: bool, reason: str | None) -> None:  # noqa: ANN401
    """The one call site of the promotion gate: ``require_approved``, or with ``force`` a
    recorded override."""
    from liveexec.promotion import record_override, require_approved  # noqa: PLC0415 (cycle)

    if force:
        record_override(engine, cfg, reason=reason)
    else:
        require_approved(engine, cfg)


def live_in_process(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    force: bool = False,
    force_reason: str | None = None,
    on_node: Callable[[Any], None] | None = None,
) -> RunResult:
    """Run ``cfg`` (mode ``live``) on this thread, which must be the main thread, until it is
    asked to stop; the result is read from the database. ``on_node`` is called with the built
    node before it starts (tests)."""
    preflight(cfg, source, command="live")
    node_config = build_live_node_config(cfg)
    return run_until_stopped(
        cfg,
        node_config,
        lambda node: add_live_factories(node, node_config),
        database_url=database_url,
        before_lease=lambda engine: _promotion_gate(engine, cfg, force, force_reason),
        on_node=on_node,
    )


class VenueNode:
    """A ``TradingNode`` whose data comes from venue adapters (live, or paper on a venue's data)
    as a :class:`~liveexec.nodes.NodeRun`: leased, run until a stop request, Ctrl-C or SIGTERM,
    the keys in the adapters' environment variables while the node exists."""

    leased = True
    resumable = False  # a venue's market has moved on: nothing to resume

    def __init__(
        self,
        cfg: LiveexecConfig,
        node_config: TradingNodeConfig,
        add_factories: Callable[[TradingNode], None],
        *,
        before_lease: Callable[[Engine], None] | None = None,
        on_node: Callable[[Any], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.node_config = node_config
        self.add_factories = add_factories
        self.before_lease = before_lease
        self.on_node = on_node
        self.credentials = adapter_credentials(cfg)
        self.node: TradingNode | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.buffer_: ProcessRecordBuffer | None = None

    def before_open(self, engine: Engine) -> None:
        if self.before_lease is not None:
            self.before_lease(engine)

    def open_row(self, engine: Engine) -> str:
        return open_run(engine, self.cfg)

    def buffer(self, engine: Engine) -> RowBuffer:
        self.buffer_ = ProcessRecordBuffer(
            engine.url.render_as_string(hide_password=False), flush_interval_s=FLUSH_EVERY_S
        )
        return self.buffer_

    def environment(self) -> AbstractContextManager[None]:
        return credentials_in_environment(self.credentials)

    def run(self, session: RunSession) -> str | None:
        cfg = self.cfg
        assert self.buffer_ is not None
        self.loop = loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.node = node = TradingNode(config=self.node_config, loop=loop)
        self.add_factories(node)
        node.build()  # builds the adapters' clients; nothing connects before run()
        recorder = session.attach(node.trader.add_actor, node.kernel)
        if self.on_node is not None:
            self.on_node(node)
        driver = NodeDriver(
            node,
            None,
            recorder,
            None,
            stop_policy=cfg.stop,
            # Connection, reconciliation and the portfolio come first.
            start_timeout_s=cfg.live.timeout_connection_s + 5.0,
        )
        self.buffer_.wait_ready()  # the writer process started while the node was built
        with watched(session.supervisor, loop, driver), signals_to(loop, driver):
            driving = loop.create_task(driver.run())
            node.run()
            del driving
        if driver.interrupted:
            raise KeyboardInterrupt
        if isinstance(driver.error, NodeStartTimeoutError):
            raise RuntimeError(
                "the venue clients did not connect (or reconcile) within "
                f"live.timeout_connection_s ({cfg.live.timeout_connection_s:g}s) + 5s; nothing "
                f"was traded (see the run's log, {run_log_path(cfg, session.run_id)}, for the "
                "cause)"
            ) from driver.error
        if driver.error is not None:
            raise driver.error
        return stop_note(driver)

    def dispose(self) -> None:
        dispose_node(self.node, self.loop)

    def closed(self) -> None:
        pass


def run_until_stopped(
    cfg: LiveexecConfig,
    node_config: TradingNodeConfig,
    add_factories: Callable[[TradingNode], None],
    *,
    database_url: str | None,
    before_lease: Callable[[Engine], None] | None = None,
    on_node: Callable[[Any], None] | None = None,
) -> RunResult:
    """Run a venue-connected node (:class:`VenueNode`) on this thread until a stop request,
    Ctrl-C or SIGTERM. ``before_lease``: the last check before anything is written."""
    node_run = VenueNode(
        cfg, node_config, add_factories, before_lease=before_lease, on_node=on_node
    )
    return run_node(cfg, node_run, database_url=database_url)
