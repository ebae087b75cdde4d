"""``liveexec promote`` and ``liveexec promotions list|show|verify``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from liveexec.errors import ConfigError, DataError, LiveexecError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from liveexec.config import LiveexecConfig
    from liveexec.db._models import Promotion

__all__ = ["promote_command", "promotions_app"]

promotions_app = typer.Typer(
    help="Promotion decisions (append-only): list them, show one, re-hash its evidence.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL; default: the config's, else as `liveexec runs`.",
        show_default=False,
    ),
]


def _fail(exc: LiveexecError) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
    return typer.Exit(2 if isinstance(exc, ConfigError) else 3 if isinstance(exc, DataError) else 1)


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    from liveexec.db import create_db_engine, database_errors, require_current_schema  # noqa: PLC0415 (cheap --help)

    engine = create_db_engine(url, create=False)
    try:
        with database_errors(engine, "promotions"):
            require_current_schema(engine)
            yield engine
    finally:
        engine.dispose()


def _decision_table(row: Promotion) -> Table:
    table = Table(title=f"Promotion {row.promotion_id}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    color = {"approved": "green", "rejected": "red"}.get(row.decision, "yellow")
    for label, value in (
        ("decision", f"[{color}]{row.decision}[/]"),
        ("config", row.config_id),
        ("backtest run", row.backtest_run_id or ""),
        ("paper run", row.paper_run_id or ""),
        ("approver", row.approver),
        ("decided", f"{row.decided_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("reason", row.reason or ""),
    ):
        table.add_row(label, value)
    for name, metrics in row.metrics.items():
        table.add_row(f"metrics: {name}", json.dumps(metrics, default=str))
    for failure in row.failed:
        table.add_row(
            "[red]failed[/]",
            f"{failure['criterion']}: {failure['value']} (limit {failure['limit']})",
        )
    for item in row.evidence:
        table.add_row("evidence", f"{item['path']}\nsha256 {item['sha256']}")
    return table


def promote_command(
    config: Annotated[Path, typer.Argument(help="The config file whose runs are judged.")],
    *,
    backtest: Annotated[str, typer.Option("--backtest", help="Run id of its completed backtest.")],
    paper: Annotated[
        str | None,
        typer.Option(
            "--paper", help="Run id of its paper run (parity is checked against the backtest)."
        ),
    ] = None,
    evidence: Annotated[
        list[Path] | None,
        typer.Option(
            "--evidence", help="A file kept as evidence, hashed with sha256 (repeatable)."
        ),
    ] = None,
    approver: Annotated[
        str | None,
        typer.Option(help="Who decides; default $LIVEEXEC_APPROVER, else the login name."),
    ] = None,
    db: DbOption = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value: dotted.key=value.")
    ] = None,
) -> None:
    """Evaluate the config's `promotion` criteria on its backtest (and paper) run and record the
    decision in the append-only `promotions` table. Exit 0 approved, 1 rejected (every failed
    criterion is recorded and printed), 2 bad input (nothing recorded)."""
    from liveexec.config import load_config, resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.promotion import promote  # noqa: PLC0415 (cheap --help)

    try:
        cfg: LiveexecConfig = load_config(config, overrides=overrides or [])
        with _engine(resolve_database_url(cfg, override=db)) as engine:
            decision = promote(
                engine,
                cfg,
                backtest,
                paper_run_id=paper,
                evidence=list(evidence or []),
                approver=approver,
            )
    except LiveexecError as exc:
        raise _fail(exc) from None
    Console().print(_decision_table(decision.row))
    if decision.row.decision != "approved":
        raise typer.Exit(1)


@promotions_app.command("list")
def promotions_list(
    config_id: Annotated[str | None, typer.Option(help="Only this config's decisions.")] = None,
    db: DbOption = None,
) -> None:
    """Decisions, newest first."""
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.promotion import list_promotions  # noqa: PLC0415 (cheap --help)

    try:
        with _engine(resolve_database_url(override=db)) as engine:
            rows = list_promotions(engine, config_id)
    except LiveexecError as exc:
        raise _fail(exc) from None
    table = Table(title="Promotions (newest first)")
    for name in (
        "promotion",
        "decided (UTC)",
        "config",
        "decision",
        "failed",
        "backtest",
        "paper",
        "approver",
    ):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(
            row.promotion_id,
            f"{row.decided_at:%Y-%m-%d %H:%M:%S}",
            row.config_id,
            row.decision,
            str(len(row.failed)),
            row.backtest_run_id or "",
            row.paper_run_id or "",
            row.approver,
        )
    Console().print(table)


@promotions_app.command("show")
def promotions_show(
    promotion_id: Annotated[str, typer.Argument(help="From `liveexec promotions list`.")],
    db: DbOption = None,
) -> None:
    """One decision: runs, metrics, failed criteria, evidence and its hashes."""
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.promotion import get_promotion  # noqa: PLC0415 (cheap --help)

    try:
        with _engine(resolve_database_url(override=db)) as engine:
            row = get_promotion(engine, promotion_id)
    except LiveexecError as exc:
        raise _fail(exc) from None
    Console().print(_decision_table(row))


@promotions_app.command("verify")
def promotions_verify(
    promotion_id: Annotated[str, typer.Argument(help="From `liveexec promotions list`.")],
    db: DbOption = None,
) -> None:
    """Re-hash the decision's evidence files: exit 0 if every one still matches, 1 if one was
    changed or removed."""
    from liveexec.config import resolve_database_url  # noqa: PLC0415 (cheap --help)
    from liveexec.promotion import verify_evidence  # noqa: PLC0415 (cheap --help)

    try:
        with _engine(resolve_database_url(override=db)) as engine:
            checks = verify_evidence(engine, promotion_id)
    except LiveexecError as exc:
        raise _fail(exc) from None
    out = Console()
    for check in checks:
        state = (
            "[green]matches[/]"
            if check.ok
            else ("[red]missing[/]" if check.current is None else "[red]changed[/]")
        )
        out.print(f"{state} {check.path}", highlight=False)
    if not checks:
        out.print("no evidence files recorded")
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
