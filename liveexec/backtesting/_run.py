"""Run a backtest from a liveexec config with NautilusTrader's ``BacktestNode``, recording it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.model.identifiers import Venue

from liveexec.backtesting._build import build_backtest_run_config
from liveexec.backtesting._progress import ProgressActor, data_time_range
from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.data import open_catalog
from liveexec.db import create_db_engine, require_current_schema
from liveexec.errors import ConfigError, ConfigIssue, RunFailedError
from liveexec.nodes import check_importable
from liveexec.recording import RecordBuffer, RecorderActor, RecorderError
from liveexec.runs import RunResult, close_run, load_run, open_run

__all__ = ["NautilusReports", "backtest", "preflight"]


@dataclass(frozen=True)
class NautilusReports:
    """NautilusTrader's own view of the run: the independent reference for what was recorded."""

    orders: pd.DataFrame
    fills: pd.DataFrame
    positions: pd.DataFrame
    statistics: dict[str, Any]  # NautilusTrader's PortfolioAnalyzer (single-venue runs)


def _analyzer_statistics(bt_engine: Any, cfg: LiveexecConfig) -> dict[str, Any]:  # noqa: ANN401
    """NautilusTrader's own performance statistics of the run (PnL stats in the settlement
    currency when the run has one venue and one), for comparing with liveexec's."""
    if len(cfg.venues) != 1:
        return {}
    cache = bt_engine.cache
    account = cache.account_for_venue(Venue(cfg.venues[0].name))
    positions = cache.positions() + cache.position_snapshots()
    currencies = {position.realized_pnl.currency for position in positions if position.is_closed}
    if account is None or len(currencies) != 1:
        return {}
    analyzer = bt_engine.portfolio.analyzer
    analyzer.calculate_statistics(account, positions)
    return {
        **analyzer.get_performance_stats_pnls(currencies.pop()),
        **analyzer.get_performance_stats_general(),
    }


def _flush_quietly(recorder: RecorderActor | None) -> None:
    """Record what the orders looked like when the run stopped (a failed write shows at close)."""
    if recorder is not None:
        with contextlib.suppress(RecorderError):
            recorder.flush()


def _dispose(node: Any) -> None:  # noqa: ANN401 (BacktestNode.dispose is untyped)
    node.dispose()


def preflight(cfg: LiveexecConfig, source: str = "<config>") -> None:
    """Everything that can be checked before the engine starts: import paths, catalog, data."""
    if cfg.mode != "backtest":
        raise ConfigError(source, [ConfigIssue("mode", f"expected 'backtest', got {cfg.mode!r}")])
    check_importable(cfg, source)
    assert cfg.data is not None
    location = cfg.data.catalog.path
    if not cfg.data.catalog.is_remote and not Path(location).is_dir():
        raise ConfigError(
            source,
            [
                ConfigIssue(
                    "data.catalog.path",
                    f"catalog {location} does not exist",
                    "create it with `liveexec data import`",
                )
            ],
        )
    catalog = open_catalog(cfg.data.catalog)
    in_catalog = {i.id.value for i in catalog.instruments()}
    issues = [
        ConfigIssue(
            f"data.streams[{n}].instrument_id",
            f"{s.instrument_id} is not in the catalog",
            f"catalog has {sorted(in_catalog)}",
        )
        for n, s in enumerate(cfg.data.streams)
        if s.instrument_id not in in_catalog
    ]
    for n, stream in enumerate(cfg.data.streams):
        if (
            stream.bar_type
            and stream.instrument_id in in_catalog
            and not catalog.bars(bar_types=[stream.bar_type], instrument_ids=[stream.instrument_id])
        ):
            issues.append(
                ConfigIssue(
                    f"data.streams[{n}].bar_type", f"no {stream.bar_type} bars in the catalog"
                )
            )
    if issues:
        raise ConfigError(source, issues)


def backtest(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    reports: list[NautilusReports] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunResult:
    """Run ``cfg`` as a backtest; every order, fill and position lands in the database.

    Bad input fails before anything is written. A failure during the run marks the run
    ``failed`` (Ctrl-C: ``interrupted``) after flushing what was recorded. Pass a list as
    ``reports`` to receive NautilusTrader's own reports of the run, and ``progress`` to be called
    with the fraction of the data's time range simulated so far.
    """
    preflight(cfg, source)
    url = resolve_database_url(cfg, override=database_url)
    engine = create_db_engine(url, echo=cfg.database.echo)
    try:
        require_current_schema(engine)
        run_config = build_backtest_run_config(cfg)
        run_id = open_run(engine, cfg)
        status, error = "completed", None
        buffer = RecordBuffer(engine, background=False, batch_rows=5_000)
        recorder: RecorderActor | None = None
        node = BacktestNode(configs=[run_config])
        try:
            node.build()
            bt_engine = node.get_engine(run_config.id)
            if bt_engine is None:
                raise RuntimeError("BacktestNode built no engine for the run")
            recorder = RecorderActor(buffer, run_id=run_id, mode=cfg.mode)
            bt_engine.add_actor(recorder)
            recorder.attach()
            time_range = data_time_range(cfg) if progress is not None else None
            if progress is not None and time_range is not None:
                bt_engine.add_actor(ProgressActor(*time_range, progress))
            node.run()
            recorder.flush()
            if reports is not None:
                trader: Any = bt_engine.trader
                reports.append(
                    NautilusReports(
                        orders=trader.generate_orders_report(),
                        fills=trader.generate_order_fills_report(),
                        positions=trader.generate_positions_report(),
                        statistics=_analyzer_statistics(bt_engine, cfg),
                    )
                )
        except KeyboardInterrupt:
            status, error = "interrupted", "interrupted by the user (Ctrl-C)"
            _flush_quietly(recorder)
        except Exception as exc:  # recorded in the runs row, then raised as RunFailedError
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            _flush_quietly(recorder)
        finally:
            try:
                buffer.close()
            except RecorderError as exc:
                status, error = "failed", str(exc)
            close_run(engine, run_id, status, error)
            _dispose(node)
        if status == "failed":
            raise RunFailedError(run_id, error or "unknown error")
        if status == "interrupted":
            raise KeyboardInterrupt
        return load_run(engine, run_id)
    finally:
        engine.dispose()
