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
from typing import Any

from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from sqlalchemy import Engine

from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.db import create_db_engine, database_errors, require_current_schema
from liveexec.nodes import add_recorder_and_gate, preflight
from liveexec.recording import (
    ProcessRecordBuffer,
    RecorderActor,
    interrupts_ignored,
    recorded_run,
)
from liveexec.runs import Heartbeat, RunResult, load_run, open_run, reap_abandoned
from liveexec.trading._adapters import (
    adapter_credentials,
    add_live_factories,
    build_live_node_config,
    credentials_in_environment,
)
from liveexec.trading._lease import leased_run
from liveexec.trading._run import (
    FLUSH_EVERY_S,
    _Driver,
    _end_node,
    _lease_keeper,
    _signals_to,
    _stop_note,
)

__all__ = ["live_in_process", "run_until_stopped"]


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


def run_until_stopped(
    cfg: LiveexecConfig,
    node_config: TradingNodeConfig,
    add_factories: Callable[[TradingNode], None],
    *,
    database_url: str | None,
    before_lease: Callable[[Engine], None] | None = None,
    on_node: Callable[[Any], None] | None = None,
) -> RunResult:
    """Run a node whose data comes from venue adapters (live, or paper on a venue's data) on
    this thread until a stop request, Ctrl-C or SIGTERM: the lease taken, the run row opened,
    the keys in the adapters' environment variables while the node runs, the recorder and the
    risk gate in place. ``before_lease``: the last check before anything is written."""
    credentials = adapter_credentials(cfg)
    url = resolve_database_url(cfg, override=database_url)
    engine = create_db_engine(url, echo=cfg.database.echo, create=False)
    try:
        with database_errors(engine, "opening the run"):
            require_current_schema(engine)
            reap_abandoned(engine)
            if before_lease is not None:
                before_lease(engine)
            lease, run_id = leased_run(
                engine, cfg.trader_id, cfg.mode, lambda: open_run(engine, cfg)
            )
        buffer = ProcessRecordBuffer(
            engine.url.render_as_string(hide_password=False), flush_interval_s=FLUSH_EVERY_S
        )
        recorder: RecorderActor | None = None
        node: TradingNode | None = None
        loop: asyncio.AbstractEventLoop | None = None
        with (
            Heartbeat(engine, run_id),
            credentials_in_environment(credentials),
            recorded_run(
                engine,
                run_id,
                buffer,
                lambda: recorder,
                lambda: _end_node(node, loop, engine, lease),
            ) as end,
        ):
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            node = TradingNode(config=node_config, loop=loop)
            add_factories(node)
            node.build()  # builds the adapters' clients; nothing connects before run()
            recorder = add_recorder_and_gate(
                node.trader.add_actor,
                node.kernel,
                cfg,
                buffer,
                run_id=run_id,
                database=engine,
            )
            if on_node is not None:
                on_node(node)
            driver = _Driver(
                node,
                None,
                recorder,
                None,
                stop_policy=cfg.stop,
                # Connection, reconciliation and the portfolio come first.
                start_timeout_s=cfg.live.timeout_connection_s + 5.0,
            )
            keeper = _lease_keeper(engine, lease, loop, driver)
            buffer.wait_ready()  # the writer process started while the node was built
            with keeper, _signals_to(loop, driver):
                driving = loop.create_task(driver.run())
                node.run()
                del driving
            if driver.interrupted:
                raise KeyboardInterrupt
            if driver.error is not None:
                if "did not start its strategies" in str(driver.error):
                    raise RuntimeError(
                        "the venue clients did not connect (or reconcile) within "
                        f"live.timeout_connection_s ({cfg.live.timeout_connection_s:g}s) "
                        "+ 5s; nothing was traded (see the node's log for the cause)"
                    ) from driver.error
                raise driver.error
            recorder.raise_failure()
            recorder.flush(final=True)
            end.error = _stop_note(driver)
        end.raise_unless_completed()
        with database_errors(engine, f"reading run {run_id}"):
            return load_run(engine, run_id)
    finally:
        with interrupts_ignored():
            engine.dispose()
