"""``liveexec pipeline CONFIG --out DIR``: explore, backtest and promote, as notebooks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from liveexec.cli import _common
from liveexec.cli._options import DbOption
from liveexec.errors import ConfigError, LiveexecError

__all__ = ["pipeline_command"]


def pipeline_command(
    config: Annotated[Path, typer.Argument(help="The config file to validate and promote.")],
    *,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the executed notebooks and HTML exports.")
    ],
    db: DbOption = None,
    approver: Annotated[
        str | None,
        typer.Option(help="Who decides; default $LIVEEXEC_APPROVER, else the login name."),
    ] = None,
    paper: Annotated[
        bool | None,
        typer.Option(
            "--paper/--no-paper",
            help="Run 03_paper_validate (default: when promotion.require_paper is set).",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Reuse an --out folder that holds an earlier decision's evidence (that "
            "decision's evidence then no longer verifies, and `liveexec live` refuses it).",
        ),
    ] = False,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value: dotted.key=value.")
    ] = None,
) -> None:
    """Execute the notebooks in order with papermill: 01_explore (the data), 02_backtest (the
    run, recorded), 03_paper_validate (a paper run and its parity with the backtest; with
    --paper or when the config's promotion criteria require it), 04_promote (the gate,
    recorded with the sha256 of the executed notebooks before it and their HTML exports).
    Each executed notebook and its HTML stay in --out as evidence; --out belongs to one
    pipeline at a time and keeps one decision's evidence (pipeline.json says which).
    Exit 0 approved; 1 a stage failed (the stages that ran are kept) or the gate rejected the
    config (failed criteria recorded); 2 bad config or parameters (nothing ran)."""
    err = _common.err()
    out_console = _common.out()
    # Stage lines are progress: piped, they go to standard error (stdout: the result line).
    stages = _common.progress_console()
    started: dict[str, float] = {}

    def progress(stage: str, event: str) -> None:
        if event == "started":
            started[stage] = time.monotonic()
            stages.print(f"[bold]{stage}[/] running...", highlight=False)
            return
        seconds = time.monotonic() - started.get(stage, time.monotonic())
        mark = "[green]done[/]" if event == "done" else "[red]failed[/]"
        stages.print(f"[bold]{stage}[/] {mark} in {seconds:.1f} s", highlight=False)

    # papermill, nbconvert and jupytext take seconds to import: only this command needs them.
    from liveexec.pipeline import PipelineFailedError, run  # noqa: PLC0415

    try:
        result = run(
            config,
            out,
            overrides=overrides or [],
            database_url=db,
            approver=approver,
            paper=paper,
            progress=progress,
            replace=replace,
        )
    except PipelineFailedError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except LiveexecError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from None
    out_console.print(
        f"backtest run {result.backtest_run_id}; "
        + (f"paper run {result.paper_run_id}; " if result.paper_run_id else "")
        + f"promotion {result.promotion_id}: "
        f"[bold]{result.decision}[/]; evidence in {result.out}",
        highlight=False,
    )
    if not result.approved:
        out_console.print(f"see `liveexec promotions show {result.promotion_id}`")
        raise typer.Exit(1)
