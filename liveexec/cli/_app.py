"""``liveexec`` commands. Exit codes: 0 success, 1 a run or the database failed, 2 bad input."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from liveexec._version import __version__
from liveexec.config import (
    config_json_schema,
    load_config,
    resolve_database_url,
)
from liveexec.db import (
    check_reachable,
    create_db_engine,
    current_revision,
    downgrade,
    head_revision,
    mask_url,
    schema_drift,
    upgrade,
)
from liveexec.errors import ConfigError, DatabaseError, LiveexecError
from liveexec.examples import example_configs

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _out() -> Console:
    # Made per call so the terminal width (or $COLUMNS) is read when the command runs.
    return Console()


def _err() -> Console:
    return Console(stderr=True)


app = typer.Typer(
    name="liveexec",
    help=(
        "Take a NautilusTrader strategy from research to live trading with one config.\n\n"
        "Exit codes: 0 success, 1 a run or the database failed, 2 bad input (config, arguments)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Validate configs and print their JSON Schema.", no_args_is_help=True)
db_app = typer.Typer(
    help=(
        "Create and migrate the database (Alembic). The URL is, first found: --db, "
        "$LIVEEXEC_DATABASE_URL, the embedded SQLite default."
    ),
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///PATH or postgresql://USER@HOST:PORT/DB).",
        show_default=False,
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config value: dotted.key=value (repeatable)."),
]


def _fail(exc: LiveexecError) -> typer.Exit:
    _err().print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
    return typer.Exit(EXIT_BAD_INPUT if isinstance(exc, ConfigError) else EXIT_FAILURE)


@app.command()
def version() -> None:
    """Print the versions of liveexec and NautilusTrader."""
    from importlib.metadata import version as dist_version  # noqa: PLC0415 (cheap --help)

    _out().print(f"liveexec {__version__}, nautilus_trader {dist_version('nautilus_trader')}")


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="Config file (.yaml, .toml or .json).")],
    overrides: SetOption = None,
) -> None:
    """Validate a config and print its config_id; exit 2 with every error otherwise."""
    try:
        cfg = load_config(file, overrides=overrides or ())
    except ConfigError as exc:
        raise _fail(exc) from None
    table = Table(title=f"{file}", show_header=False)
    table.add_row("config_id", cfg.config_id)
    table.add_row("mode", cfg.mode)
    table.add_row("trader_id", cfg.trader_id)
    table.add_row("strategies", ", ".join(s.path.rsplit(":", 1)[1] for s in cfg.strategies) or "-")
    table.add_row("venues", ", ".join(v.name for v in cfg.venues) or "-")
    table.add_row("instruments", ", ".join(cfg.instrument_ids) or "-")
    _out().print(table)
    _out().print(f"[green]valid[/] config_id={cfg.config_id}")


@config_app.command("schema")
def config_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of liveexec configs."""
    text = config_json_schema()
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")


@db_app.command("upgrade")
def db_upgrade(
    db: DbOption = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the database schema up to a revision (default: head)."""
    url = resolve_database_url(override=db)
    try:
        upgrade(url, revision)
    except LiveexecError as exc:
        raise _fail(exc) from None
    _out().print(f"{mask_url(url)} is at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision: an id, -1, or base.")],
    db: DbOption = None,
) -> None:
    """Migrate the schema down to a revision ('base' drops every liveexec table)."""
    url = resolve_database_url(override=db)
    try:
        downgrade(url, revision)
    except LiveexecError as exc:
        raise _fail(exc) from None
    _out().print(f"{mask_url(url)} is at revision {revision}")


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Print the database's schema revision and this liveexec's head revision."""
    url = resolve_database_url(override=db)
    engine = create_db_engine(url)
    try:
        check_reachable(engine)
        current = current_revision(engine)
    except LiveexecError as exc:
        raise _fail(exc) from None
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if current == head else "behind: run `liveexec db upgrade`"
    _out().print(f"{mask_url(url)}: revision {current or 'none'} (head {head}, {state})")


@db_app.command("check")
def db_check(db: DbOption = None) -> None:
    """Exit 1 if the migrated schema differs from liveexec's models (migration drift)."""
    url = resolve_database_url(override=db)
    engine = create_db_engine(url)
    try:
        check_reachable(engine)
        drift = schema_drift(engine)
    except DatabaseError as exc:
        raise _fail(exc) from None
    finally:
        engine.dispose()
    if drift:
        for item in drift:
            _err().print(f"drift: {item}", highlight=False)
        raise typer.Exit(EXIT_FAILURE)
    _out().print(f"{mask_url(url)}: schema matches the models")


@app.command()
def demo(db: DbOption = None) -> None:
    """Set up the default database and check the bundled example configs.

    Creates and migrates the database (embedded SQLite unless --db or $LIVEEXEC_DATABASE_URL),
    validates each example config and prints its config_id.
    """
    url = resolve_database_url(override=db)
    try:
        upgrade(url)
        table = Table(title="Bundled example configs")
        for column in ("config", "mode", "strategy", "instruments", "config_id"):
            table.add_column(column, overflow="fold")
        for path in example_configs():
            cfg = load_config(path)
            strategy = ", ".join(s.path.rsplit(":", 1)[1] for s in cfg.strategies)
            table.add_row(
                path.name, cfg.mode, strategy, ", ".join(cfg.instrument_ids), cfg.config_id
            )
    except LiveexecError as exc:
        raise _fail(exc) from None
    _out().print(f"Database ready: {mask_url(url)} (schema {head_revision()})")
    _out().print(table)
    _out().print(
        "Next: `liveexec config check FILE` on your own config; `liveexec config schema` for the "
        "schema your editor can use."
    )


def main() -> None:
    app()
