"""``liveexec promote`` and ``liveexec promotions list|show|verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from liveexec.cli._common import DbOption, err, fail, group, opened, out
from liveexec.errors import LiveexecError

if TYPE_CHECKING:
    from liveexec.config import LiveexecConfig
    from liveexec.db import Promotion

__all__ = ["promote_command", "promotions_app"]

promotions_app = group(
    "Promotion decisions (hash-chained, signed): list them, show one, verify the record, "
    "export its head."
)


def _signer_text(row: Promotion) -> str:
    from liveexec.promotion import fingerprint  # noqa: PLC0415 (cheap --help)

    if row.approver_key is None:
        return f"[yellow]unsigned[/] (claimed: {row.approver})"
    return f"{row.approver}, key {fingerprint(row.approver_key)}"


def _decision_table(row: Promotion) -> Table:
    table = Table(title=f"Promotion {row.promotion_id}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    color = {"approved": "green", "rejected": "red"}.get(row.decision, "yellow")
    for label, value in (
        ("decision", f"[{color}]{row.decision}[/]"),
        ("config", row.config_id),
        ("record", f"row {row.seq}, hash {row.row_hash}"),
        ("backtest run", row.backtest_run_id or ""),
        ("paper run", row.paper_run_id or ""),
        ("approver", _signer_text(row)),
        ("decided", f"{row.decided_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("reason", row.reason or ""),
    ):
        table.add_row(label, value)
    bound = row.binding
    if bound:
        versions = ", ".join(f"{k} {v}" for k, v in bound.get("versions", {}).items())
        table.add_row("binds", f"config {bound.get('config_id')}; {versions}")
        for group, files in bound.get("sources", {}).items():
            table.add_row("binds source", f"{group} ({len(files)} files)")
    for name, metrics in row.metrics.items():
        if name not in ("scorecard", "loosened"):
            table.add_row(f"metrics: {name}", json.dumps(metrics, default=str))
    marks = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "disabled": "[yellow]disabled[/]"}
    for score in row.metrics.get("scorecard", []):
        table.add_row(
            f"  {score['criterion']}",
            f"{marks.get(score['outcome'], score['outcome'])}  {score['value']} "
            f"(limit {score['limit']})",
        )
    for item in row.metrics.get("loosened", []):
        state = "disabled" if item["value"] == "null" else f"loosened to {item['value']}"
        table.add_row(
            "[yellow]loosened[/]", f"{item['criterion']} {state} (default {item['default']})"
        )
    if not row.metrics.get("scorecard"):
        for failure in row.failed:
            table.add_row(
                "[red]failed[/]",
                f"{failure['criterion']}: {failure['value']} (limit {failure['limit']})",
            )
    for item in row.evidence:
        table.add_row("evidence", f"{item['path']}\nsha256 {item['sha256']}")
    return table


KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="The approver's private key (default $LIVEEXEC_SIGNING_KEY, else "
        "~/.config/liveexec/approver.pem; see `liveexec keys`). Without one the decision is "
        "recorded unsigned, and `liveexec live` does not accept an unsigned approval.",
        show_default=False,
    ),
]


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
        typer.Option(
            help="Who decides; default: the name the trusted approvers file gives the key, "
            "else $LIVEEXEC_APPROVER, else the login name."
        ),
    ] = None,
    key: KeyOption = None,
    db: DbOption = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value: dotted.key=value.")
    ] = None,
) -> None:
    """Evaluate the config's `promotion` criteria on its backtest (and paper) run and record the
    decision, signed with the approver's key, in the hash-chained `promotions` table. The
    decision binds the config, its components' source files, the NautilusTrader, liveexec and
    Python versions, the risk section and the runs' contents: `liveexec live` refuses when any
    of them changed. Exit 0 approved, 1 rejected (every failed criterion is recorded and
    printed), 2 bad input (nothing recorded)."""
    from liveexec.config import load_config  # noqa: PLC0415 (cheap --help)
    from liveexec.promotion import promote  # noqa: PLC0415 (cheap --help)

    try:
        cfg: LiveexecConfig = load_config(config, overrides=overrides or [])
        with opened(db, purpose="write", cfg=cfg) as engine:
            decision = promote(
                engine,
                cfg,
                backtest,
                paper_run_id=paper,
                evidence=list(evidence or []),
                approver=approver,
                key=key,
            )
    except LiveexecError as exc:
        raise fail(exc) from None
    out().print(_decision_table(decision.row))
    for warning in decision.warnings:
        err().print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    if decision.row.decision != "approved":
        raise typer.Exit(1)


@promotions_app.command("list")
def promotions_list(
    config_id: Annotated[str | None, typer.Option(help="Only this config's decisions.")] = None,
    db: DbOption = None,
) -> None:
    """Decisions, newest first (in the record's order)."""
    from liveexec.promotion import list_promotions  # noqa: PLC0415 (cheap --help)

    try:
        with opened(db) as engine:
            rows = list_promotions(engine, config_id)
    except LiveexecError as exc:
        raise fail(exc) from None
    table = Table(title="Promotions (newest first)")
    for name in (
        "row",
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
            str(row.seq),
            row.promotion_id,
            f"{row.decided_at:%Y-%m-%d %H:%M:%S}",
            row.config_id,
            row.decision,
            str(len(row.failed)),
            row.backtest_run_id or "",
            row.paper_run_id or "",
            _signer_text(row),
        )
    out().print(table)


@promotions_app.command("show")
def promotions_show(
    promotion_id: Annotated[str, typer.Argument(help="From `liveexec promotions list`.")],
    db: DbOption = None,
) -> None:
    """One decision: runs, what it binds, metrics, failed criteria, evidence and its hashes."""
    from liveexec.promotion import get_promotion  # noqa: PLC0415 (cheap --help)

    try:
        with opened(db) as engine:
            row = get_promotion(engine, promotion_id)
    except LiveexecError as exc:
        raise fail(exc) from None
    out().print(_decision_table(row))


@promotions_app.command("verify")
def promotions_verify(
    promotion_id: Annotated[
        str | None,
        typer.Argument(help="A decision to check as `liveexec live` would (default: none)."),
    ] = None,
    *,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="With a decision: also check that this config, here, is what it approved "
            "(sources, versions, risk section).",
        ),
    ] = None,
    head: Annotated[
        Path | None,
        typer.Option(
            "--head", help="A head exported by `liveexec promotions head`: must be in the record."
        ),
    ] = None,
    reset_witness: Annotated[
        bool,
        typer.Option(
            "--reset-witness",
            help="Take the record's current head as the one this machine has seen (after a "
            "database was restored or recreated on purpose).",
        ),
    ] = False,
    db: DbOption = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a --config value: dotted.key=value.")
    ] = None,
) -> None:
    """Check the whole promotion record: every row's hash and link, every signature, the
    newest head this machine saw (and an exported --head); with a decision id, also whether it
    would let its config trade live (trusted signature, runs and evidence unchanged, still in
    force). Exit 0 if all holds, 1 if anything does not (each problem printed)."""
    from liveexec.config import load_config  # noqa: PLC0415 (cheap --help)
    from liveexec.promotion import read_head_file, verify  # noqa: PLC0415 (cheap --help)

    try:
        cfg = load_config(config, overrides=overrides or []) if config else None
        exported = read_head_file(head) if head else None
        with opened(db, purpose="write", cfg=cfg) as engine:
            result = verify(
                engine, promotion_id, cfg=cfg, head=exported, reset_witness=reset_witness
            )
    except LiveexecError as exc:
        raise fail(exc) from None
    console = out()
    chain_head = result.report.head
    console.print(
        f"record: {len(result.report.rows)} decisions"
        + (f", head row {chain_head.seq} hash {chain_head.row_hash}" if chain_head else ""),
        highlight=False,
    )
    for check in result.evidence:
        state = (
            "[green]matches[/]"
            if check.ok
            else ("[red]missing[/]" if check.current is None else "[red]changed[/]")
        )
        console.print(f"{state} {check.path}", highlight=False)
    if result.decision is not None and not result.decision.evidence:
        console.print("no evidence files recorded")
    for problem in result.problems:
        console.print(f"[red]problem:[/] {problem}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)
    console.print("[green]verified[/]")


@promotions_app.command("head")
def promotions_head(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the head here (default: print it).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Export the record's head (row number, its hash, the first row's hash) to keep somewhere
    the database's writers cannot reach; `liveexec promotions verify --head FILE` later proves
    the record still contains it (nothing before it was changed, removed or replaced)."""
    from liveexec.promotion import read_chain, read_trusted_approvers, verify_chain  # noqa: PLC0415

    try:
        with opened(db) as engine:
            report = verify_chain(read_chain(engine), read_trusted_approvers())
    except LiveexecError as exc:
        raise fail(exc) from None
    if not report.intact:
        for issue in report.broken:
            err().print(f"[red]problem:[/] {issue}", highlight=False)
        raise typer.Exit(1)
    if report.head is None:
        err().print("the record is empty: nothing to export")
        raise typer.Exit(1)
    text = json.dumps(report.head.as_dict(), indent=2) + "\n"
    if out_file is None:
        typer.echo(text, nl=False)
    else:
        out_file.write_text(text)
