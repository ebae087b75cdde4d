"""Paper and live trading: the same config run by NautilusTrader's ``TradingNode``, recorded in
the same tables as backtests.

    result = liveexec.paper(liveexec.load_config("strategy.yaml", overrides=["mode=paper"]))
    liveexec.live(liveexec.load_config("strategy.yaml", overrides=["mode=live"]))
"""

from __future__ import annotations

from collections.abc import Callable

from liveexec.config import LiveexecConfig
from liveexec.nodes import check_mode, preflight
from liveexec.runs import LeaseHeldError, NoRunningNodeError, RunResult, request_stop
from liveexec.trading._adapters import build_live_node_config
from liveexec.trading._build import build_paper_node_config
from liveexec.trading._live_run import live_in_process
from liveexec.trading._process import (
    live_in_subprocess,
    paper_in_subprocess,
    should_use_subprocess,
)
from liveexec.trading._run import paper_in_process

__all__ = [
    "LeaseHeldError",
    "NoRunningNodeError",
    "build_live_node_config",
    "build_paper_node_config",
    "live",
    "live_in_process",
    "paper",
    "stop",
]


def paper(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    progress: Callable[[float], None] | None = None,
    subprocess: bool | None = None,
    fresh: bool = False,
) -> RunResult:
    """Run ``cfg`` (``mode: paper``) on a ``TradingNode`` replaying its catalog data; every
    order, fill and position lands in the database, and the result is read back from it.

    With ``paper.market_data: venue`` the node trades the ``live`` section's venues' live market
    data on its simulated venues instead, until it is asked to stop (``liveexec stop``, Ctrl-C,
    SIGTERM), as a live node does; such a run is never resumed (``fresh`` does nothing).

    The node stops by itself at the end of the data; Ctrl-C or SIGTERM stop it gracefully (the
    run is closed ``interrupted`` and :class:`liveexec.errors.RunInterrupted` raised).
    ``subprocess``: run the node in a child process; by default it does from a notebook kernel
    or from any thread but the main one (NautilusTrader's node needs the main thread and tears
    process-wide state down when it ends). If the trader id's last paper run died (SIGKILL), it
    is resumed from its committed state; ``fresh=True`` starts a new run instead.
    """
    check_mode(cfg, "paper", source)  # the run's preflight checks the rest, in its process
    if subprocess if subprocess is not None else should_use_subprocess():
        return paper_in_subprocess(
            cfg, database_url=database_url, source=source, progress=progress, fresh=fresh
        )
    return paper_in_process(
        cfg, database_url=database_url, source=source, progress=progress, fresh=fresh
    )


def live(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    force: bool = False,
    force_reason: str | None = None,
    subprocess: bool | None = None,
) -> RunResult:
    """Trade ``cfg`` (``mode: live``) through NautilusTrader's Binance/Bybit/OKX adapters until
    it is asked to stop (``liveexec.trading.stop(trader_id)``, ``liveexec stop TRADER_ID``, Ctrl-C
    or SIGTERM); every order lands in the database, and the result is read back from it.

    Refused before anything starts: another mode, an empty key, a venue a strategy names that no
    adapter connects, a schema not at head, a config the promotion gate has not approved
    (``force=True`` overrides and is recorded in ``promotions``), a trader id already running.
    ``subprocess``: run the node in a child process; by default it does from a notebook kernel
    or from any thread but the main one, as :func:`paper` does. A notebook's interrupt stops it
    gracefully there (the run is closed ``interrupted``).
    """
    preflight(cfg, source, command="live")  # refused here, before a child is spawned
    if subprocess if subprocess is not None else should_use_subprocess():
        return live_in_subprocess(
            cfg,
            database_url=database_url,
            source=source,
            force=force,
            force_reason=force_reason,
        )
    return live_in_process(
        cfg, database_url=database_url, source=source, force=force, force_reason=force_reason
    )


def stop(trader_id: str, *, database_url: str | None = None) -> str:
    """Ask the paper or live node running ``trader_id`` against the database to stop (it sees
    the request within a second and stops per its config's ``stop`` policy); a description of
    the node asked. Raises :class:`NoRunningNodeError` if none runs."""
    from liveexec.config import resolve_database_url  # noqa: PLC0415
    from liveexec.db import create_db_engine, database_errors, require_current_schema  # noqa: PLC0415

    engine = create_db_engine(resolve_database_url(override=database_url), create=False)
    try:
        with database_errors(engine, f"requesting a stop of {trader_id}"):
            require_current_schema(engine)
            return request_stop(engine, trader_id).describe()
    finally:
        engine.dispose()
