"""``liveexec paper`` and ``liveexec live``: a config run by NautilusTrader's ``TradingNode``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liveexec.cli._common import (
    EXIT_INTERRUPTED,
    DbOption,
    SetOption,
    err,
    fail,
    opened,
    out,
    progress_bar,
    result_tables,
)

__all__ = ["register_live_command", "register_paper_command", "register_stop_command"]

_PAPER_HELP = "\n\n".join(
    [
        "Run a config in paper mode: NautilusTrader's TradingNode replays the catalog's data "
        "into the strategies and a simulated venue with the backtest's fee and fill models; "
        "every order, fill and position is recorded (mode 'paper') as a backtest's is.",
        "The node stops by itself at the end of the data. Ctrl-C or SIGTERM stop it "
        "gracefully: the recorder is flushed and the run recorded as 'interrupted' (exit 130). "
        "Pacing is the config's 'paper' section (e.g. --set paper.speed=60 for 60x real time, "
        "--set paper.min_gap_ms=0). The config that was backtested runs unchanged: a config "
        "that says mode: backtest (or mode: live) runs as mode: paper, and the command says so "
        "in a line; no order ever reaches a venue.",
        "With paper.market_data: venue the 'live' section's adapters stream a real venue's "
        "market data (data clients only, keys as ${ENV_VAR}) and the config's simulated venue of "
        "the same name (BINANCE, BYBIT, OKX) fills the orders: no order reaches the venue. The "
        "node then runs until `liveexec stop TRADER_ID`, Ctrl-C or SIGTERM, as a live node does, "
        "and is never resumed. liveexec's own tests have no internet: they run it up to the "
        "connection, never a venue.",
        "Exit codes: 0 completed, 1 the run or the database failed, 2 bad config or arguments, "
        "130 interrupted.",
    ]
)


def paper_command(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
    db: DbOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Start a new run even if this trader id's last paper run died (by default "
            "that run is resumed from its committed state).",
        ),
    ] = False,
) -> None:
    from liveexec.config import load_config_for, resolve_database_url  # noqa: PLC0415
    from liveexec.db import mask_url  # noqa: PLC0415
    from liveexec.errors import LiveexecError, RunInterrupted  # noqa: PLC0415
    from liveexec.trading import paper  # noqa: PLC0415

    try:
        cfg, note = load_config_for(file, "paper", overrides=overrides or ())
        if note is not None:
            out().print(f"note: {note}", highlight=False)
        url = resolve_database_url(cfg, override=db)
        if progress and cfg.paper.market_data == "replay":  # a venue's data has no end
            with progress_bar(f"paper {file.name}") as report:
                result = paper(
                    cfg,
                    database_url=url,
                    source=str(file),
                    progress=report,
                    subprocess=False,
                    fresh=fresh,
                )
        else:
            result = paper(cfg, database_url=url, source=str(file), subprocess=False, fresh=fresh)
    except LiveexecError as exc:
        raise fail(exc) from None
    except RunInterrupted as exc:
        err().print(f"interrupted: run {exc.run_id} is recorded as {exc.status!r}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    for table in result_tables(result):
        out().print(table)
    out().print(f"run id: {result.run_id} (stored in {mask_url(url)})")


_LIVE_HELP = "\n\n".join(
    [
        "Trade a config live (mode: live) through NautilusTrader's own Binance, Bybit or OKX "
        "adapters (the config's 'live' section: environment live/testnet/demo, account or "
        "product types, keys as ${ENV_VAR}); every order is recorded (mode 'live').",
        "Refused before anything starts: another mode, a missing or empty key (naming the "
        "variable or field), a venue a strategy names that no adapter connects, a database "
        "schema not at head, a config the promotion gate has not approved (--force overrides "
        "and is recorded), a trader id another process runs (naming it).",
        "The node runs until `liveexec stop TRADER_ID`, Ctrl-C or SIGTERM; open orders and "
        "positions are handled per the config's 'stop' section. liveexec's own tests have no "
        "internet: they exercise this command up to the connection, never a venue.",
        "Exit codes: 0 stopped on request, 1 the run or the database failed, 2 bad config, "
        "arguments or not approved, 130 interrupted.",
    ]
)


def live_command(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
    db: DbOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Start although the promotion gate has not approved this config_id; the "
            "override is recorded in the promotions table.",
        ),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why --force was used (recorded with the override)."),
    ] = None,
) -> None:
    from liveexec.config import load_config, resolve_database_url  # noqa: PLC0415
    from liveexec.db import mask_url  # noqa: PLC0415
    from liveexec.errors import LiveexecError, RunInterrupted  # noqa: PLC0415
    from liveexec.trading import live_in_process  # noqa: PLC0415

    try:
        cfg = load_config(file, overrides=overrides or ())
        url = resolve_database_url(cfg, override=db)
        result = live_in_process(
            cfg, database_url=url, source=str(file), force=force, force_reason=reason
        )
    except LiveexecError as exc:
        raise fail(exc) from None
    except RunInterrupted as exc:
        err().print(f"interrupted: run {exc.run_id} is recorded as {exc.status!r}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    for table in result_tables(result):
        out().print(table)
    out().print(f"run id: {result.run_id} (stored in {mask_url(url)})")


_STOP_HELP = "\n\n".join(
    [
        "Ask the paper or live node running TRADER_ID against the database to stop.",
        "The request is a row in the database: the node sees it within a second, handles its "
        "open orders and positions per its config's 'stop' section, flushes the recorder, "
        "closes its run and releases the trader id.",
        "Exit codes: 0 stopped (or asked, with --no-wait), 1 no node runs for TRADER_ID or it "
        "did not stop within --timeout, 2 bad arguments.",
    ]
)


def stop_command(
    trader_id: Annotated[str, typer.Argument(help="The trader id of the running node.")],
    db: DbOption = None,
    wait: Annotated[
        bool, typer.Option(help="Wait until the node has stopped and closed its run.")
    ] = True,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the node to stop (with --wait).")
    ] = 60.0,
) -> None:
    from liveexec.errors import LiveexecError  # noqa: PLC0415
    from liveexec.ops import stop_node  # noqa: PLC0415 (cheap --help)

    with opened(db) as engine:
        try:
            stopping = stop_node(engine, trader_id, wait=wait, timeout_s=timeout)
        except LiveexecError as exc:
            raise fail(exc) from None
    out().print(f"stop requested: {stopping.describe()}", highlight=False)
    if not stopping.waited:
        return
    if not stopping.stopped:
        out().print(f"the node has not stopped after {timeout:.0f}s", highlight=False)
        raise typer.Exit(1)
    if stopping.run is not None:
        out().print(
            f"stopped: run {stopping.run.run_id} is {stopping.run.status!r}", highlight=False
        )
    else:
        out().print("stopped", highlight=False)
    out().print(f"stop took {stopping.seconds:.2f}s after the request", highlight=False)


def register_paper_command(app: typer.Typer, *, panel: str) -> None:
    """Add ``paper`` to the ``liveexec`` command."""
    app.command("paper", help=_PAPER_HELP, rich_help_panel=panel)(paper_command)


def register_live_command(app: typer.Typer, *, panel: str) -> None:
    """Add ``live`` to the ``liveexec`` command."""
    app.command("live", help=_LIVE_HELP, rich_help_panel=panel)(live_command)


def register_stop_command(app: typer.Typer, *, panel: str) -> None:
    """Add ``stop`` to the ``liveexec`` command."""
    app.command("stop", help=_STOP_HELP, rich_help_panel=panel)(stop_command)
