"""``liveexec config check``, ``liveexec config schema`` and ``liveexec config reference``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from liveexec.cli._common import SetOption, fail, group, out
from liveexec.errors import ConfigError

__all__ = ["config_app"]

config_app = group("Validate configs; print their JSON Schema and their reference.")


ForCommand = Annotated[
    Literal["backtest", "paper", "live"] | None,
    typer.Option(
        "--for",
        help="Check the file as this command would run it: backtest and live refuse a config "
        "of another mode, paper runs any config as mode: paper (and says so). Default: the "
        "config's own mode.",
        show_default=False,
    ),
]


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
    command: ForCommand = None,
) -> None:
    """Validate a config and print its config_id; exit 2 with every error otherwise.

    Runs the preflight of the config's mode, exactly what `liveexec backtest`, `paper` and
    `live` run before they start: components import and accept their parameters, currencies,
    order sizes; backtest and paper replay: the catalog's instruments, streams and data window
    (without reading the market data), the bar types and instruments the components name,
    futures inside their life; live and paper on venue data: keys not empty, every venue a
    component names has an adapter. What the run checks once its database is open (schema,
    promotion approval, the trader id's lease) is listed, not checked.
    """
    from liveexec.config import load_config, load_config_for  # noqa: PLC0415 (cheap --help)
    from liveexec.nodes import preflight  # noqa: PLC0415 (cheap --help)

    note: str | None = None
    try:
        if command is None:
            cfg = load_config(file, overrides=overrides or ())
        else:
            cfg, note = load_config_for(file, command, overrides=overrides or ())
        checked = preflight(cfg, str(file), command=command)
    except ConfigError as exc:
        raise fail(exc) from None
    table = Table(title=f"{file}", show_header=False)
    table.add_row("config_id", cfg.config_id)
    table.add_row("mode", checked.stage)
    table.add_row("trader_id", cfg.trader_id)
    table.add_row("strategies", ", ".join(s.path.rsplit(":", 1)[1] for s in cfg.strategies) or "-")
    table.add_row("venues", ", ".join(v.name for v in cfg.venues) or "-")
    table.add_row("instruments", ", ".join(cfg.instrument_ids) or "-")
    out().print(table)
    for line in ([note] if note is not None else []) + checked.notes:
        out().print(f"note: {line}", highlight=False)
    # Not run here: they need the run's database, and config check writes nothing anywhere.
    if checked.database_checks:
        out().print(f"not checked here: `liveexec {cfg.mode}` checks once its database is open")
        for check in checked.database_checks:
            out().print(f"  - {check}", highlight=False)
    out().print(f"[green]valid[/] config_id={cfg.config_id}")


@config_app.command("schema")
def config_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of liveexec configs."""
    from liveexec.config import config_json_schema  # noqa: PLC0415 (cheap --help)

    text = config_json_schema()
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")


@config_app.command("reference")
def config_reference(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the config reference as markdown: every section with its fields' types, defaults
    and descriptions (committed as docs/CONFIG.md)."""
    from liveexec.config import config_reference_markdown  # noqa: PLC0415 (cheap --help)

    text = config_reference_markdown()
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
