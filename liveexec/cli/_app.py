"""``liveexec``: the command line, one module per command group over ``liveexec.ops`` and the
run functions. Exit codes: 0 success, 1 a run or the database failed, 2 bad input, 3 bad market
data, 130 interrupted.

`liveexec --help` and every command's --help import none of NautilusTrader, pandas, polars or
SQLAlchemy: each command imports what it runs when it runs (liveexec.data's layouts and presets,
imported for `data import`'s options, are plain Python; tests/integration/test_cli_imports.py
checks it).
"""

from __future__ import annotations

import signal
import sys

import typer

from liveexec._version import __version__
from liveexec.cli import (
    _backtest,
    _config,
    _data,
    _db,
    _keys,
    _lab,
    _live,
    _parity,
    _pipeline,
    _promotion,
    _risk,
    _runs,
)
from liveexec.cli._common import EXIT_INTERRUPTED, out

__all__ = ["app", "main"]

app = typer.Typer(
    name="liveexec",
    help=(
        "Take a NautilusTrader strategy from research to live trading with one config: data, "
        "config, backtest, paper, pipeline, promote, live; then runs and operations.\n\n"
        "Exit codes: 0 success, 1 a run or the database failed, 2 bad input (config, arguments), "
        "3 a market data file refused by `data import` (nothing written), 130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Docstrings are reflowed (a single line break is a space): no stray breaks in --help.
    rich_markup_mode="markdown",
)
# In the order of the workflow: the data, the config, a backtest, paper, the pipeline and the
# promotion, live; then the runs, and operating nodes and the database.
_WORKFLOW, _RUNS, _OPERATIONS = "Research to live", "Runs", "Operations"
app.add_typer(_data.data_app, name="data", rich_help_panel=_WORKFLOW)
app.add_typer(_config.config_app, name="config", rich_help_panel=_WORKFLOW)
app.command("backtest", rich_help_panel=_WORKFLOW)(_backtest.backtest_command)
_live.register_paper_command(app, panel=_WORKFLOW)
app.command("parity", rich_help_panel=_WORKFLOW)(_parity.parity_command)
app.command("pipeline", rich_help_panel=_WORKFLOW)(_pipeline.pipeline_command)
app.command("promote", rich_help_panel=_WORKFLOW)(_promotion.promote_command)
app.add_typer(_promotion.promotions_app, name="promotions", rich_help_panel=_WORKFLOW)
app.add_typer(_keys.keys_app, name="keys", rich_help_panel=_WORKFLOW)
_live.register_live_command(app, panel=_WORKFLOW)
app.add_typer(_runs.runs_app, name="runs", rich_help_panel=_RUNS)
app.command("compare", rich_help_panel=_RUNS)(_runs.compare_command)
app.command("report", rich_help_panel=_RUNS)(_runs.report_command)
_live.register_stop_command(app, panel=_OPERATIONS)
app.command("halt", rich_help_panel=_OPERATIONS)(_risk.halt_command)
app.command("resume", rich_help_panel=_OPERATIONS)(_risk.resume_command)
app.add_typer(_db.db_app, name="db", rich_help_panel=_OPERATIONS)
app.command("demo", rich_help_panel=_OPERATIONS)(_backtest.demo_command)
app.command("lab", rich_help_panel=_OPERATIONS)(_lab.lab_command)


@app.command(rich_help_panel=_OPERATIONS)
def version() -> None:
    """Print the versions of liveexec and NautilusTrader."""
    from importlib.metadata import version as dist_version  # noqa: PLC0415 (cheap --help)

    out().print(f"liveexec {__version__}, nautilus_trader {dist_version('nautilus_trader')}")


def _terminate(_signum: int, _frame: object) -> None:
    # SIGTERM ends a run like Ctrl-C: flushed, closed, recorded as 'interrupted'.
    raise KeyboardInterrupt


def _ended() -> None:
    # The command has ended: further Ctrl-Cs (a user pressing it again, a script sending
    # several) must interrupt neither what is said nor the exit, nor turn the exit code into a
    # death by signal while the interpreter shuts down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except KeyboardInterrupt:
        # Before a run opened (or after it was reported): nothing was left half-recorded.
        _ended()
        sys.stderr.write("interrupted\n")  # plain: rich imports on first use
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as exc:
        _ended()
        # typer turns a Ctrl-C inside a command that does not report it itself (one still
        # importing what it runs, say) into a silent exit 130: say it, as above. A command that
        # reported its interrupted run exits 130 with no KeyboardInterrupt behind it.
        raised = exc.__context__
        if exc.code == EXIT_INTERRUPTED and isinstance(
            getattr(raised, "__cause__", None), KeyboardInterrupt
        ):
            sys.stderr.write("interrupted\n")
        raise
    finally:
        _ended()
