"""Several runs' statistics side by side.

report = analysis.compare(None, "5990df16", "7e2ea238")   # run ids or unique prefixes
report          # in a notebook: one table, a column per run, formatted; print(report) too
report.frame    # one row per run, exact values (money as Decimal in its `currency`)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Engine

from liveexec.config import resolve_database_url
from liveexec.db import create_db_engine, database_errors, require_current_schema
from liveexec.runs import (
    STATISTIC_FIELDS,
    RunResult,
    load_run,
    resolve_run_id,
    strategy_parameters,
)

if TYPE_CHECKING:
    from liveexec.config import CatalogConfig

__all__ = ["Comparison", "compare"]

_KIND_TYPES: dict[str, pl.DataType] = {
    "money": pl.Decimal(36, 18),
    "percent": pl.Float64(),
    "ratio": pl.Float64(),
    "duration": pl.Duration("us"),
    "count": pl.Int64(),
}
# What each run is, before its statistics: (column, label).
_IDENTITY = (
    ("run_id", "run"),
    ("mode", "mode"),
    ("status", "status"),
    ("strategy", "strategy"),
    ("parameters", "parameters"),
    ("config_id", "config"),
    ("currency", "currency"),
    ("period", "data window"),
)


@dataclass(frozen=True)
class Comparison:
    """Runs' statistics side by side.

    :attr:`frame` holds one row per run with exact values: money as ``Decimal`` in the row's
    ``currency``, fractions as fractions, durations as durations. :meth:`table` (and the
    notebook view) is the same for people: a row per statistic, a column per run, money in its
    currency's precision with the currency named, fractions as percentages.
    """

    runs: tuple[RunResult, ...]
    frame: pl.DataFrame

    def labels(self) -> list[str]:
        """Column names of the runs: the shortest unique run id prefixes of 8+ characters."""
        ids = [run.run_id for run in self.runs]
        for size in range(8, 37):
            labels = [run_id[:size] for run_id in ids]
            if len(set(labels)) == len(labels):
                return labels
        return [f"{i}: {run_id}" for i, run_id in enumerate(ids, start=1)]  # one run given twice

    def table(self) -> pl.DataFrame:
        """One row per statistic, one text column per run."""
        labels = self.labels()
        rows: list[list[str]] = []
        for column, label in _IDENTITY:
            rows.append([label, *(str(v) if v is not None else "" for v in self.frame[column])])
        texts = [run.statistics.formatted() for run in self.runs]
        for index, (_name, label, _kind) in enumerate(STATISTIC_FIELDS):
            rows.append([label, *(text[index][1] for text in texts)])
        return pl.DataFrame(rows, schema=["statistic", *labels], orient="row")

    def __str__(self) -> str:
        table = self.table()
        widths = [max(len(c), *(len(v) for v in table[c])) for c in table.columns]
        lines = ["  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True))]
        for row in table.iter_rows():
            cells = [
                (str(cell).ljust(w) if i == 0 else str(cell).rjust(w))
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  ".join(cells))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self.table()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:{"left" if i == 0 else "right"}">{html.escape(str(v))}</td>'
                for i, v in enumerate(row)
            )
            + "</tr>"
            for row in table.iter_rows()
        )
        notes = "".join(
            f"<li>{html.escape(label)}: {html.escape(note)}</li>"
            for label, run in zip(self.labels(), self.runs, strict=True)
            for note in run.statistics.notes
        )
        return (
            '<div class="liveexec-compare"><h5>Runs compared</h5>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


def _row(run: RunResult) -> dict[str, Any]:
    stats = run.statistics
    period = (
        f"{stats.start:%Y-%m-%d %H:%M:%S} to {stats.end:%Y-%m-%d %H:%M:%S} UTC"
        if stats.start is not None and stats.end is not None
        else None
    )
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "mode": run.mode,
        "status": run.status,
        "strategy": ", ".join(run.strategies),
        "parameters": strategy_parameters(run.config),
        "config_id": run.config_id,
        "currency": stats.currency,
        "period": period,
        "start": stats.start,
        "end": stats.end,
    }
    for name, _label, _kind in STATISTIC_FIELDS:
        row[name] = getattr(stats, name)
    return row


def _frame(runs: Sequence[RunResult]) -> pl.DataFrame:
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "run_id": pl.String,
        "mode": pl.String,
        "status": pl.String,
        "strategy": pl.String,
        "parameters": pl.String,
        "config_id": pl.String,
        "currency": pl.String,
        "period": pl.String,
        "start": pl.Datetime("us", "UTC"),
        "end": pl.Datetime("us", "UTC"),
    }
    for name, _label, kind in STATISTIC_FIELDS:
        schema[name] = _KIND_TYPES[kind]
    return pl.DataFrame([_row(run) for run in runs], schema=schema)


def compare(
    engine_or_url: Engine | str | None,
    *runs: RunResult | str,
    catalog: CatalogConfig | str | Path | None = None,
) -> Comparison:
    """Runs' statistics side by side (see :class:`Comparison`). Each run is a
    :class:`RunResult` or a run id (or a prefix of one that names a single run), read from
    ``engine_or_url`` (None: the default database). ``catalog`` is passed to
    :func:`liveexec.runs.load_run` for runs read here. An unknown or ambiguous id is a
    ``ConfigError`` naming the candidates."""
    if not runs:
        return Comparison((), _frame(()))
    ids = [run for run in runs if isinstance(run, str)]
    if not ids:
        loaded = tuple(run for run in runs if isinstance(run, RunResult))
        return Comparison(loaded, _frame(loaded))
    if isinstance(engine_or_url, Engine):
        return _compare(engine_or_url, runs, catalog)
    engine = create_db_engine(resolve_database_url(override=engine_or_url), create=False)
    try:
        with database_errors(engine, "reading the runs"):
            require_current_schema(engine)
            return _compare(engine, runs, catalog)
    finally:
        engine.dispose()


def _compare(
    engine: Engine, runs: Sequence[RunResult | str], catalog: CatalogConfig | str | Path | None
) -> Comparison:
    loaded = tuple(
        run
        if isinstance(run, RunResult)
        else load_run(engine, resolve_run_id(engine, run), catalog=catalog)
        for run in runs
    )
    return Comparison(loaded, _frame(loaded))
