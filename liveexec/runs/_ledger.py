"""The ``runs`` table: a row opened when a run starts and closed with how it ended.

Each row names its owner (host, pid and the process's start time, so a reused pid is not taken
for the owner) and carries a heartbeat. A ``running`` row whose owner is gone -- killed with
SIGKILL, its machine lost -- is marked ``abandoned`` by :func:`reap_abandoned`, which every
command that opens the database runs first.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, func, select, update
from sqlmodel import Session

from liveexec._version import __version__
from liveexec.config import LiveexecConfig, component_parameters, redacted_document
from liveexec.db import AccountBalance, Run, UnifiedOrder, UnifiedPosition
from liveexec.errors import ConfigError, ConfigIssue

__all__ = [
    "HEARTBEAT_EVERY",
    "HOST",
    "close_run",
    "list_runs",
    "open_run",
    "process_start",
    "reap_abandoned",
    "resolve_run_id",
    "strategy_parameters",
]

HEARTBEAT_EVERY = timedelta(seconds=10)
# Another machine's run is taken for dead only when its heartbeat is this old.
STALE_AFTER = timedelta(minutes=2)
HOST = socket.gethostname()  # this machine, as runs and leases name their owners


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux), or None if there is
    no such process. With the pid it identifies one process: pids are reused, start times not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return _alive_elsewhere(pid)
    # Field 22; the command name (field 2) may hold spaces, so count from its closing ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive_elsewhere(pid: int) -> int | None:
    """Without /proc: 0 for a live pid (start time unknown), None for none."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists, owned by another user
    return 0


def _owner_alive(host: str | None, pid: int | None, start: int | None) -> bool | None:
    """True/False when this machine can tell; None for another machine's run."""
    if host != HOST or pid is None:
        return None
    current = process_start(pid)
    if current is None:
        return False
    return start is None or current in (0, start)


_RUNS = Run.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_ORDERS = UnifiedOrder.__table__  # type: ignore[attr-defined]
_POSITIONS = UnifiedPosition.__table__  # type: ignore[attr-defined]
_BALANCES = AccountBalance.__table__  # type: ignore[attr-defined]


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
                owner_host=HOST,
                owner_pid=os.getpid(),
                owner_start=process_start(os.getpid()),
                heartbeat_at=datetime.now(UTC),
            )
        )
        session.commit()
    return run_id


def reap_abandoned(engine: Engine, *, now: datetime | None = None) -> list[str]:
    """Mark ``abandoned`` every running row whose owner is gone; the run ids marked.

    On this machine the owner is gone when its process (pid and start time) no longer exists;
    a run of another machine, when its heartbeat is older than ``STALE_AFTER``.
    """
    moment = now or datetime.now(UTC)
    query = select(
        _RUNS.c.run_id,
        _RUNS.c.owner_host,
        _RUNS.c.owner_pid,
        _RUNS.c.owner_start,
        _RUNS.c.heartbeat_at,
        _RUNS.c.started_at,
    ).where(_RUNS.c.status == "running")
    reaped: list[str] = []
    with engine.begin() as connection:
        for run_id, host, pid, start, heartbeat, started in connection.execute(query).all():
            alive = _owner_alive(host, pid, start)
            last = heartbeat or started
            if alive is None:
                alive = last is not None and moment - last < STALE_AFTER
            if alive:
                continue
            who = f"pid {pid} on {host}" if pid is not None else "its owner"
            seen = f"; last heartbeat {last.isoformat(timespec='seconds')}" if last else ""
            done = connection.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id, _RUNS.c.status == "running")
                .values(
                    status="abandoned",
                    ended_at=last or moment,
                    error=f"abandoned: {who} stopped without closing the run{seen}",
                )
            )
            if done.rowcount:
                reaped.append(run_id)
    return reaped


def close_run(engine: Engine, run_id: str, status: str, error: str | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(_RUNS)
            .where(_RUNS.c.run_id == run_id)
            .values(status=status, error=error, ended_at=datetime.now(UTC), heartbeat_at=None)
        )


_LIST_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "run_id": pl.String,
    "mode": pl.String,
    "status": pl.String,
    "config_id": pl.String,
    "strategy": pl.String,
    "parameters": pl.String,
    "instruments": pl.String,
    "data_start": pl.Datetime("us", "UTC"),
    "data_end": pl.Datetime("us", "UTC"),
    "started_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
    "orders": pl.Int64,
    "trades": pl.Int64,
    "pnl": pl.Decimal(36, 18),
    "currency": pl.String,
    "total_return": pl.Float64,
}


def list_runs(
    engine: Engine,
    *,
    limit: int | None = 20,
    mode: str | None = None,
    status: str | None = None,
    strategy: str | None = None,
    config_id: str | None = None,
    since: datetime | date | None = None,
) -> pl.DataFrame:
    """The latest runs, newest first, one row each: what a ``runs list`` table shows.

    Columns: ``run_id``, ``mode``, ``status``, ``config_id``; ``strategy`` (the strategies'
    class names) and ``parameters`` (each strategy's parameters that differ from its config
    class's defaults, as the class reads them; ``; `` between strategies); ``instruments`` (the
    config's); ``data_start`` / ``data_end`` (the config's data window, null where it takes all
    the catalog holds); ``started_at`` / ``ended_at``; ``orders``; ``trades`` (closed
    positions); ``pnl`` in ``currency`` and ``total_return`` (a fraction of the starting
    balance in that currency).

    ``pnl`` is the realized PnL of the run's positions, net of fees, in the account's currency
    (its base currency, else the one currency its positions settle in, else the first currency
    of its starting balances). On a single-currency account, positions settled in another
    currency (JPY on a USD account) count as the venue converted them: its ending balance minus
    its starting balance, NautilusTrader's own figure. Null otherwise (positions in several
    currencies on a multi-currency account: ``liveexec.runs.load_run`` converts them at the
    run's prices).

    Filters: ``mode``, ``status``, ``config_id`` (exact), ``strategy`` (a class name, any
    case), ``since`` (started at or after: an aware datetime, or a date for its midnight UTC).
    ``limit`` None lists all.
    """
    query = select(
        _RUNS.c.run_id,
        _RUNS.c.mode,
        _RUNS.c.status,
        _RUNS.c.config_id,
        _RUNS.c.config,
        _RUNS.c.started_at,
        _RUNS.c.ended_at,
    ).order_by(_RUNS.c.started_at.desc(), _RUNS.c.run_id)
    if mode is not None:
        query = query.where(_RUNS.c.mode == mode)
    if status is not None:
        query = query.where(_RUNS.c.status == status)
    if config_id is not None:
        query = query.where(_RUNS.c.config_id == config_id)
    if since is not None:
        if isinstance(since, datetime) and since.tzinfo is None:
            raise ValueError(f"since={since.isoformat()} is naive: give it a time zone (UTC)")
        moment = (
            since
            if isinstance(since, datetime)
            else datetime(since.year, since.month, since.day, tzinfo=UTC)
        )
        query = query.where(_RUNS.c.started_at >= moment)
    if limit is not None and strategy is None:
        query = query.limit(limit)
    wanted = strategy.casefold() if strategy is not None else None
    parameters = _Parameters()
    runs: list[dict[str, Any]] = []
    with engine.connect() as connection:
        for run_id, run_mode, run_status, cid, config, started, ended in connection.execute(query):
            classes = [_class_name(s) for s in config.get("strategies") or []]
            if wanted is not None and wanted not in {c.casefold() for c in classes}:
                continue
            data = config.get("data") or {}
            runs.append(
                {
                    "run_id": run_id,
                    "mode": run_mode,
                    "status": run_status,
                    "config_id": cid,
                    "strategy": ", ".join(classes),
                    "parameters": parameters.text(config),
                    "instruments": ", ".join(_instrument_ids(config)),
                    "data_start": _when(data.get("start")),
                    "data_end": _when(data.get("end")),
                    "started_at": started,
                    "ended_at": ended,
                    "config": config,
                }
            )
            if limit is not None and len(runs) >= limit:
                break
        figures = _figures(connection, runs)
    rows = [
        {**{k: v for k, v in run.items() if k != "config"}, **figures[run["run_id"]]}
        for run in runs
    ]
    return pl.DataFrame(rows, schema=_LIST_SCHEMA)


def resolve_run_id(engine: Engine, prefix: str) -> str:
    """The one run id that is or starts with ``prefix``; a ``ConfigError`` naming the
    candidates when several do, or saying so when none does."""
    text_prefix = prefix.strip()
    if not text_prefix:
        raise ConfigError("run id", [ConfigIssue("run id", "empty", "see `liveexec runs list`")])
    escaped = text_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        select(_RUNS.c.run_id, _RUNS.c.mode, _RUNS.c.status, _RUNS.c.started_at)
        .where(_RUNS.c.run_id.like(f"{escaped}%", escape="\\"))
        .order_by(_RUNS.c.started_at.desc())
        .limit(_CANDIDATES + 1)
    )
    with engine.connect() as connection:
        found = connection.execute(query).all()
    exact = [row for row in found if row[0] == text_prefix]
    if exact or len(found) == 1:
        return str((exact or found)[0][0])
    if not found:
        raise ConfigError(
            "run id",
            [ConfigIssue(text_prefix, "no run id starts with it", "see `liveexec runs list`")],
        )
    shown = ", ".join(
        f"{run_id} ({run_mode} {run_status}, started {started:%Y-%m-%d %H:%M:%S})"
        for run_id, run_mode, run_status, started in found[:_CANDIDATES]
    )
    more = " and more" if len(found) > _CANDIDATES else ""
    many = f"over {_CANDIDATES}" if more else str(len(found))
    raise ConfigError(
        "run id",
        [
            ConfigIssue(
                text_prefix,
                f"ambiguous: {many} runs start with it",
                f"candidates: {shown}{more}; give more characters",
            )
        ],
    )


_CANDIDATES = 10


def _class_name(spec: dict[str, Any]) -> str:
    return str(spec.get("path", "")).rpartition(":")[2]


def _instrument_ids(config: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for spec in config.get("instruments") or []:
        if spec.get("kind") == "provided":
            ids.extend(str(i) for i in spec.get("ids") or [])
        elif "id" in spec:
            ids.append(str(spec["id"]))
    return ids


def _when(value: object) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def strategy_parameters(config: Mapping[str, Any]) -> str:
    """The strategies' parameters that differ from their config classes' defaults, as the
    classes read them, compact: ``trade_size=0.1 bar_type=...``, ``; `` between strategies
    (``instrument_id`` left out: a runs list shows the instruments)."""
    return _Parameters().text(config)


class _Parameters:
    """Strategies' non-default parameters, compact; each config class read once per call."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def text(self, config: Mapping[str, Any]) -> str:
        return "; ".join(self._one(spec) for spec in config.get("strategies") or [])

    def _one(self, spec: Mapping[str, Any]) -> str:
        config = spec.get("config") or {}
        key = json.dumps([spec.get("config_path"), config], sort_keys=True, default=str)
        if key not in self._seen:
            values = component_parameters(str(spec.get("config_path", "")), dict(config))
            self._seen[key] = " ".join(
                f"{name}={_compact(value)}"
                for name, value in values.items()
                if name != "instrument_id"  # in the instruments column
            )
        return self._seen[key]


def _compact(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def _figures(connection: Connection, runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per run: orders, closed positions, PnL and its currency, total return."""
    ids = [run["run_id"] for run in runs]
    figures: dict[str, dict[str, Any]] = {
        run_id: {"orders": 0, "trades": 0, "pnl": None, "currency": None, "total_return": None}
        for run_id in ids
    }
    if not ids:
        return figures
    for run_id, count in connection.execute(
        select(_ORDERS.c.run_id, func.count())
        .where(_ORDERS.c.run_id.in_(ids))
        .group_by(_ORDERS.c.run_id)
    ):
        figures[run_id]["orders"] = int(count)
    realized: dict[str, dict[str, Decimal]] = {run_id: {} for run_id in ids}
    for run_id, currency, pnl, closed in connection.execute(
        select(
            _POSITIONS.c.run_id,
            _POSITIONS.c.currency,
            _POSITIONS.c.realized_pnl,
            _POSITIONS.c.status == "CLOSED",
        ).where(_POSITIONS.c.run_id.in_(ids))
    ):
        realized[run_id][currency] = realized[run_id].get(currency, Decimal(0)) + pnl
        figures[run_id]["trades"] += 1 if closed else 0
    ending: dict[str, dict[str, Decimal]] = {run_id: {} for run_id in ids}
    for run_id, currency, total in connection.execute(
        select(_BALANCES.c.run_id, _BALANCES.c.currency, _BALANCES.c.total).where(
            _BALANCES.c.run_id.in_(ids)
        )
    ):
        ending[run_id][currency] = ending[run_id].get(currency, Decimal(0)) + total
    for run in runs:
        figures[run["run_id"]].update(
            _pnl(run["config"], run["mode"], realized[run["run_id"]], ending[run["run_id"]])
        )
    return figures


def _pnl(
    config: dict[str, Any],
    mode: str,
    realized: dict[str, Decimal],
    ending: dict[str, Decimal],
) -> dict[str, Any]:
    starting: dict[str, Decimal] = {}
    for venue in config.get("venues") or []:
        for text_amount in venue.get("starting_balances") or []:
            amount, code = str(text_amount).split()
            starting[code] = starting.get(code, Decimal(0)) + Decimal(amount)
    bases = {v["base_currency"] for v in config.get("venues") or [] if v.get("base_currency")}
    currency = (
        next(iter(bases))
        if len(bases) == 1
        else next(iter(realized))
        if len(realized) == 1
        else next(iter(starting), None)  # the first currency the config lists
    )
    pnl: Decimal | None = None
    if currency is not None and set(realized) <= {currency}:
        pnl = realized.get(currency, Decimal(0))
    elif currency in bases and mode != "live" and currency in ending and currency in starting:
        pnl = ending[currency] - starting[currency]  # converted by the venue
    start = starting.get(currency) if currency is not None else None
    return {
        "pnl": pnl,
        "currency": currency,
        "total_return": float(pnl / start) if pnl is not None and start else None,
    }
