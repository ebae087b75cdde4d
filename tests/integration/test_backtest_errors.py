"""Bad input fails before anything is written; a database failure mid-run is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from liveexec.backtesting import backtest
from liveexec.cli import app
from liveexec.config import load_config, parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError, RunFailedError, SchemaOutOfDateError
from liveexec.examples import EXAMPLES_DIR

# The bundled demo data in $LIVEEXEC_CATALOG, copied (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("demo_catalog")

QUOTER = EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml"
runner = CliRunner(env={"COLUMNS": "200"})


def raw_quoter() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(QUOTER.read_text())
    return data


def count_runs(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM runs")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def quoter_catalog() -> None:
    prepare_demo_catalog(load_config(QUOTER))


def test_missing_catalog_is_named_before_anything_is_written(
    sqlite_url: str, tmp_path: Path
) -> None:
    upgrade(sqlite_url)
    cfg = load_config(QUOTER, overrides=[f"data.catalog.path={tmp_path / 'nowhere'}"])
    with pytest.raises(ConfigError) as exc:
        backtest(cfg, database_url=sqlite_url)
    assert [i.location for i in exc.value.issues] == ["data.catalog.path"]
    assert count_runs(sqlite_url) == 0


def test_instrument_missing_from_catalog_is_named(sqlite_url: str, quoter_catalog: None) -> None:
    upgrade(sqlite_url)
    raw = raw_quoter()
    raw["instruments"][0]["id"] = "ETHUSDT.BINANCE"  # type: ignore[index]
    raw["data"]["streams"][0]["instrument_id"] = "ETHUSDT.BINANCE"  # type: ignore[index]
    cfg = parse_config(raw)
    with pytest.raises(ConfigError, match=r"ETHUSDT\.BINANCE is not in the catalog"):
        backtest(cfg, database_url=sqlite_url)
    assert count_runs(sqlite_url) == 0


def test_bad_strategy_path_and_parameters_are_named(sqlite_url: str, quoter_catalog: None) -> None:
    upgrade(sqlite_url)
    raw = raw_quoter()
    raw["strategies"][0]["path"] = "nautilus_trader.examples.strategies.simpler_quoter:Nope"  # type: ignore[index]
    with pytest.raises(ConfigError) as exc:
        backtest(parse_config(raw), database_url=sqlite_url)
    assert [i.location for i in exc.value.issues] == ["strategies[0].path"]
    raw = raw_quoter()
    raw["strategies"][0]["config"]["order_qty"] = "lots"  # type: ignore[index]
    with pytest.raises(ConfigError) as exc:
        backtest(parse_config(raw), database_url=sqlite_url)
    assert [i.location for i in exc.value.issues] == ["strategies[0].config"]
    assert count_runs(sqlite_url) == 0


def test_unmigrated_database_is_refused_before_the_run(
    sqlite_url: str, quoter_catalog: None
) -> None:
    with pytest.raises(SchemaOutOfDateError, match="liveexec db upgrade"):
        backtest(load_config(QUOTER), database_url=sqlite_url)
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists(), "nothing may be created"


def test_backtest_cli_exit_codes(sqlite_url: str, quoter_catalog: None, tmp_path: Path) -> None:
    upgrade(sqlite_url)
    ok = runner.invoke(app, ["backtest", str(QUOTER), "--db", sqlite_url, "--no-progress"])
    assert ok.exit_code == 0, ok.output
    assert "run id:" in ok.output
    bad = runner.invoke(
        app, ["backtest", str(QUOTER), "--db", sqlite_url, "--set", "venues.0.oms_type=NET"]
    )
    assert bad.exit_code == 2
    assert "venues[0].oms_type" in bad.output
    assert count_runs(sqlite_url) == 1


@pytest.mark.postgres
@pytest.mark.slow
def test_database_failure_mid_run_marks_it_failed_and_keeps_what_was_written(
    postgres_url: str,
) -> None:
    cfg = load_config(
        EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml", overrides=["logging.level=ERROR"]
    )
    prepare_demo_catalog(cfg)
    upgrade(postgres_url)
    cutoff = 1642118400 * 10**9  # 2022-01-14 00:00 UTC, mid-way through the data
    engine = create_db_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION refuse_late() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.ts_event >= {cutoff} THEN RAISE EXCEPTION 'disk full (simulated)'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER refuse_late BEFORE INSERT ON order_events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_late()"
            )
        )
    try:
        with pytest.raises(RunFailedError, match="disk full"):
            backtest(cfg, database_url=postgres_url)
        with engine.connect() as connection:
            status, error = connection.execute(text("SELECT status, error FROM runs")).one()
            written = connection.execute(text("SELECT count(*) FROM order_events")).scalar_one()
            latest = connection.execute(text("SELECT max(ts_event) FROM order_events")).scalar_one()
    finally:
        engine.dispose()
    assert status == "failed"
    assert "disk full (simulated)" in error
    assert written > 0  # batches committed before the failure are intact
    assert latest < cutoff


@pytest.mark.slow
def test_ctrl_c_marks_the_run_interrupted_after_flushing(sqlite_url: str) -> None:
    cfg = load_config(
        EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml", overrides=["logging.level=ERROR"]
    )
    prepare_demo_catalog(cfg)
    upgrade(sqlite_url)
    raw = cfg.model_dump(mode="json")
    raw["actors"] = [
        {
            "path": "tests.integration.interrupting:InterruptingActor",
            "config_path": "tests.integration.interrupting:InterruptConfig",
            "config": {"bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL", "after_bars": 5000},
        }
    ]
    with pytest.raises(KeyboardInterrupt):
        backtest(parse_config(raw), database_url=sqlite_url)
    engine = create_db_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            status, error = connection.execute(text("SELECT status, error FROM runs")).one()
            orders = connection.execute(text("SELECT count(*) FROM unified_orders")).scalar_one()
            events = connection.execute(text("SELECT count(*) FROM order_events")).scalar_one()
    finally:
        engine.dispose()
    assert status == "interrupted"
    assert "Ctrl-C" in error
    assert 0 < orders < 4136  # what happened before the interrupt, flushed
    assert events >= orders
