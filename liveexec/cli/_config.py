"""``liveexec config check`` and ``liveexec config schema``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from liveexec.cli._common import SetOption, fail, group, out
from liveexec.errors import ConfigError

__all__ = ["config_app"]

config_app = group("Validate configs and print their JSON Schema.")


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
) -> None:
    """Validate a config and print its config_id; exit 2 with every error otherwise.

    Runs every check `liveexec backtest` runs before it starts (components import and accept
    their parameters, currencies, the catalog's instruments and data window) without reading the
    market data itself.
    """
    from liveexec.config import load_config  # noqa: PLC0415 (cheap --help)
    from liveexec.nodes import check_importable, preflight  # noqa: PLC0415 (cheap --help)

    notes: list[str] = []
    try:
        cfg = load_config(file, overrides=overrides or ())
        if cfg.mode == "backtest":
            notes = preflight(cfg, str(file)).notes
        else:
            check_importable(cfg, str(file))
    except ConfigError as exc:
        raise fail(exc) from None
    table = Table(title=f"{file}", show_header=False)
    table.add_row("config_id", cfg.config_id)
    table.add_row("mode", cfg.mode)
    table.add_row("trader_id", cfg.trader_id)
    table.add_row("strategies", ", ".join(s.path.rsplit(":", 1)[1] for s in cfg.strategies) or "-")
    table.add_row("venues", ", ".join(v.name for v in cfg.venues) or "-")
    table.add_row("instruments", ", ".join(cfg.instrument_ids) or "-")
    out().print(table)
    for note in notes:
        out().print(f"note: {note}", highlight=False)
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
