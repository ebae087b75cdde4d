"""The ``runs`` table: a row opened when a run starts and closed with how it ended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from importlib.metadata import version

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from liveexec._version import __version__
from liveexec.config import LiveexecConfig, redacted_document
from liveexec.db import Run, UnifiedOrder

__all__ = ["close_run", "list_runs", "open_run"]

_RUNS = Run.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_ORDERS = UnifiedOrder.__table__  # type: ignore[attr-defined]


def open_run(engine: Engine, cfg: LiveexecConfig) -> str:
    run_id = str(uuid.uuid4())
    with Session(engine) as session:
        session.add(
            Run(
                run_id=run_id,
                trader_id=cfg.trader_id,
                mode=cfg.mode,
                config_id=cfg.config_id,
                config=redacted_document(cfg),
                liveexec_version=__version__,
                nautilus_version=version("nautilus_trader"),
                started_at=datetime.now(UTC),
                status="running",
            )
        )
        session.commit()
    return run_id


def close_run(engine: Engine, run_id: str, status: str, error: str | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(_RUNS)
            .where(_RUNS.c.run_id == run_id)
            .values(status=status, error=error, ended_at=datetime.now(UTC))
        )


def list_runs(
    engine: Engine, *, limit: int = 20, config_id: str | None = None
) -> list[tuple[str, str, str, str, str, int]]:
    """(run_id, mode, status, config_id, started_at, orders) of the latest runs, newest first."""
    orders = (
        select(func.count())
        .select_from(_ORDERS)
        .where(_ORDERS.c.run_id == _RUNS.c.run_id)
        .scalar_subquery()
    )
    query = (
        select(
            _RUNS.c.run_id,
            _RUNS.c.mode,
            _RUNS.c.status,
            _RUNS.c.config_id,
            _RUNS.c.started_at,
            orders,
        )
        .order_by(_RUNS.c.started_at.desc())
        .limit(limit)
    )
    if config_id is not None:
        query = query.where(_RUNS.c.config_id == config_id)
    with engine.connect() as connection:
        return [
            (r[0], r[1], r[2], r[3], r[4].isoformat(timespec="seconds"), int(r[5]))
            for r in connection.execute(query)
        ]
