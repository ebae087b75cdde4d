"""Operations on recorded runs: list, show, reap, delete, prune, compare."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, or_, select

from liveexec.db import Promotion, Run
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.runs import RunResult, load_run, reap_abandoned, resolve_run_id

__all__ = ["Deletion", "delete_runs", "prunable_runs", "reap", "show_run"]

_RUNS = Run.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_PROMOTIONS = Promotion.__table__  # type: ignore[attr-defined]
# What `runs prune` removes unless told otherwise: runs that did not complete.
PRUNABLE = ("failed", "abandoned", "interrupted")


def show_run(engine: Engine, run: str) -> RunResult:
    """Everything recorded for ``run`` (a run id or a unique prefix of one)."""
    return load_run(engine, resolve_run_id(engine, run))


def reap(engine: Engine) -> list[str]:
    """Mark ``abandoned`` every running run whose owner is gone; the run ids marked."""
    return reap_abandoned(engine)


@dataclass(frozen=True)
class Deletion:
    """What a deletion removed (its orders, events, positions and balances went with it)."""

    run_ids: tuple[str, ...]


def _cited(engine: Engine, run_ids: Sequence[str]) -> dict[str, str]:
    """run id -> the promotion decision that cites it (such runs are evidence: kept)."""
    query = select(
        _PROMOTIONS.c.promotion_id, _PROMOTIONS.c.backtest_run_id, _PROMOTIONS.c.paper_run_id
    ).where(
        or_(
            _PROMOTIONS.c.backtest_run_id.in_(run_ids),
            _PROMOTIONS.c.paper_run_id.in_(run_ids),
        )
    )
    cited: dict[str, str] = {}
    with engine.connect() as connection:
        for promotion_id, backtest, paper in connection.execute(query):
            for run_id in (backtest, paper):
                if run_id in run_ids:
                    cited.setdefault(run_id, promotion_id)
    return cited


def delete_runs(engine: Engine, runs: Sequence[str]) -> Deletion:
    """Delete the runs (ids or unique prefixes) with everything they recorded, all or none:
    refused, naming each, for a run still running or one a promotion decision cites (the
    record keeps its evidence)."""
    run_ids = tuple(dict.fromkeys(resolve_run_id(engine, run) for run in runs))
    with engine.connect() as connection:
        running = [
            row[0]
            for row in connection.execute(
                select(_RUNS.c.run_id).where(
                    _RUNS.c.run_id.in_(run_ids), _RUNS.c.status == "running"
                )
            )
        ]
    issues = [
        ConfigIssue(run_id, "is running", "stop it first (`liveexec stop TRADER_ID`)")
        for run_id in running
    ]
    issues += [
        ConfigIssue(run_id, f"is evidence of promotion {promotion_id}", "it is kept")
        for run_id, promotion_id in _cited(engine, run_ids).items()
    ]
    if issues:
        raise ConfigError("runs delete", issues)
    with engine.begin() as connection:
        connection.execute(delete(_RUNS).where(_RUNS.c.run_id.in_(run_ids)))
    return Deletion(run_ids)


def prunable_runs(
    engine: Engine, *, before: datetime, statuses: Sequence[str] | None = None
) -> list[str]:
    """Runs started before ``before`` with one of ``statuses`` (by default those that did not
    complete) that no promotion decision cites: what ``runs prune`` offers to delete."""
    query = (
        select(_RUNS.c.run_id)
        .where(_RUNS.c.status.in_(tuple(statuses or PRUNABLE)), _RUNS.c.started_at < before)
        .order_by(_RUNS.c.started_at)
    )
    with engine.connect() as connection:
        found = [row[0] for row in connection.execute(query)]
    cited = _cited(engine, found) if found else {}
    return [run_id for run_id in found if run_id not in cited]
