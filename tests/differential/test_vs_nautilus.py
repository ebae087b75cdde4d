"""liveexec's backtests against NautilusTrader alone, on real data, case by case.

Each case runs twice. liveexec: a YAML config, `liveexec data import` of the raw files, `liveexec
db upgrade`, ``backtest()`` and the rows read back from the database. NautilusTrader: its
low-level ``BacktestEngine`` fed by its own wranglers from the same raw files (``reference.py``,
no liveexec code). Every order, fill, position and final balance must agree.

The reference run of a case does not depend on the database, so it runs once per module and
serves the SQLite and the PostgreSQL runs alike.
"""

from __future__ import annotations

import ast
import gzip
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from liveexec.backtesting import backtest
from liveexec.cli import app
from liveexec.config import load_config
from liveexec.runs import RunResult
from tests.differential import reference
from tests.differential.cases import CASES, FIXTURES, Case, prepare
from tests.differential.compare import Outcome, differences, from_liveexec, from_reference
from tests.differential.reference import ReferenceRun, run_reference

pytestmark = pytest.mark.slow

runner = CliRunner(env={"COLUMNS": "200"})
BY_NAME = {case.name: case for case in CASES}


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("differential-raw")


@pytest.fixture(scope="module")
def reference_run(raw_dir: Path) -> Callable[[Case], ReferenceRun]:
    """NautilusTrader's run of a case, computed on first use and kept for the module."""
    done: dict[str, ReferenceRun] = {}

    def get(case: Case) -> ReferenceRun:
        if case.name not in done:
            files = prepare(case, raw_dir)
            start, end = case.window()
            done[case.name] = run_reference(
                trader_id=case.trader_id,
                venues=case.venues,
                instrument_ids=case.instrument_ids,
                sources=[i.reference(files) for i in case.imports],
                strategies=case.strategies,
                start=start,
                end=end,
            )
        return done[case.name]

    return get


def _invoke(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"liveexec {' '.join(args)}\n{result.output}"


def run_liveexec(case: Case, raw_dir: Path, workdir: Path, url: str) -> RunResult:
    """The case as a user runs it: config file, `data import`, `db upgrade`, backtest."""
    files = prepare(case, raw_dir)
    config_path = workdir / f"{case.name}.yaml"
    config = case.liveexec_config(workdir / "catalog")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    for spec in case.imports:
        _invoke(["data", "import", str(config_path), *spec.cli_args(files)])
    _invoke(["db", "upgrade", "--db", url])
    return backtest(load_config(config_path), database_url=url, source=str(config_path))


def case_checks(case: Case, outcome: Outcome) -> list[str]:
    """What each case is there to exercise, checked on NautilusTrader's side (so that a case that
    stopped exercising it cannot pass unnoticed on both sides)."""
    problems: list[str] = []
    sides = {fill["liquidity_side"] for fill in outcome.fills.values()}
    if sides != case.liquidity_sides:
        problems.append(f"liquidity sides {sorted(sides)}, expected {sorted(case.liquidity_sides)}")
    fixed = [v.fixed_commission for v in case.venues if v.fixed_commission is not None]
    if fixed:
        amount, currency = fixed[0].split()
        charged = {(f["commission"], f["commission_currency"]) for f in outcome.fills.values()}
        if charged != {(Decimal(amount), currency)}:
            problems.append(f"commissions {sorted(charged)}, expected {fixed[0]} on every fill")
    start, end = case.window()
    times = [fill["ts_event"] for fill in outcome.fills.values()]
    if start is not None and min(times) < start.value:
        problems.append(f"a fill at {pd.Timestamp(min(times))} before data.start {start}")
    if end is not None and max(times) > end.value:
        problems.append(f"a fill at {pd.Timestamp(max(times))} after data.end {end}")
    instruments = {position["instrument_id"] for position in outcome.positions.values()}
    if len(case.instrument_ids) > 1 and len(instruments) < len(case.instrument_ids):
        problems.append(f"positions only in {sorted(instruments)} of {case.instrument_ids}")
    return problems


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_liveexec_equals_nautilus(
    case: Case,
    db_url: str,
    raw_dir: Path,
    tmp_path: Path,
    reference_run: Callable[[Case], ReferenceRun],
) -> None:
    theirs_run = reference_run(case)
    began = time.perf_counter()
    result = run_liveexec(case, raw_dir, tmp_path, db_url)
    seconds = time.perf_counter() - began
    assert result.status == "completed", result.error
    ours, theirs = from_liveexec(result), from_reference(theirs_run)
    print(  # shown with -s or on failure: the figures for the report
        f"\n{case.name}: {theirs.summary()}\n"
        f"    NautilusTrader {theirs_run.seconds:.1f} s, liveexec {seconds:.1f} s"
    )
    # Guards against a case that proves nothing (no trading) or drifts from its published figures.
    assert len(theirs.orders) >= case.min_orders
    if case.expected_orders is not None:
        assert len(theirs.orders) == case.expected_orders
        assert len(theirs.positions) == case.expected_positions
    assert not case_checks(case, theirs), case_checks(case, theirs)
    closing = "closing_order_id" in result.positions.columns
    diff = differences(ours, theirs, closing_orders=closing)
    assert not diff, f"{case.name}: liveexec differs from NautilusTrader\n" + "\n".join(diff)


def test_reference_imports_no_liveexec() -> None:
    """The reference path is NautilusTrader alone: its source imports no liveexec module, and
    importing it in a fresh interpreter loads none (not even indirectly)."""
    source = Path(reference.__file__ or "").read_text()
    imported: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
    assert "nautilus_trader.backtest.engine" in imported  # the check reads the real imports
    assert [name for name in imported if name.split(".")[0] == "liveexec"] == []
    probe = (
        "import sys, tests.differential.reference; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'liveexec'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def test_cases_are_named_uniquely() -> None:
    assert len(BY_NAME) == len(CASES)


def test_fixture_copies_equal_the_team_data(shared_data: Path) -> None:
    """tests/differential/data holds gzip copies of real files: their content is unchanged."""
    copies = sorted(FIXTURES.glob("*.csv.gz"))
    assert copies
    for copy in copies:
        original = shared_data / "fx2019" / copy.name.removesuffix(".gz")
        with gzip.open(copy, "rb") as content:
            assert content.read() == original.read_bytes(), copy.name
