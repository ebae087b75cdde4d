"""The ``runs`` table: a row opened when a run starts and closed with how it ended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from importlib.metadata import version

from sqlalchemy import Engine, update
from sqlmodel import Session

from liveexec._version import __version__
from liveexec.config import LiveexecConfig, redacted_document
from liveexec.db import Run

__all__ = ["close_run", "open_run"]

_RUNS = Run.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models


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
