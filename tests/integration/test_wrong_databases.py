"""Databases handled with care: foreign files are never touched, every problem is one line,
and concurrent first uses of a fresh database all succeed."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.config import load_config
from liveexec.db import create_db_engine, current_revision, head_revision, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR

# The bundled demo data in $LIVEEXEC_CATALOG, copied (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("demo_catalog")

runner = CliRunner(env={"COLUMNS": "2000"})  # one error line stays one line
SECRET = "hunter2-db-password"
QUOTER = EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


def assert_one_line_error(output: str, exit_code: int) -> None:
    assert exit_code == 1, output
    assert "Traceback" not in output
    assert SECRET not in output
    assert "INSERT" not in output and "SELECT" not in output


@pytest.fixture
def foreign_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount TEXT)")
    connection.execute("INSERT INTO ledger (amount) VALUES ('12.50')")
    connection.commit()
    connection.close()
    return path


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["db", "current"], ["runs", "list"], ["db", "check"]],
)
def test_a_foreign_sqlite_database_is_refused_and_left_as_it_was(
    foreign_sqlite: Path, command: list[str]
) -> None:
    before, files = digest(foreign_sqlite), siblings(foreign_sqlite)
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{foreign_sqlite}"])
    assert_one_line_error(result.output, result.exit_code)
    assert "another program" in result.output
    assert digest(foreign_sqlite) == before
    assert siblings(foreign_sqlite) == files  # no -wal, -shm or journal left behind


@pytest.mark.parametrize("command", [["db", "upgrade"], ["runs", "list"]])
def test_a_text_file_is_not_a_database(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n")
    before = digest(path)
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{path}"])
    assert_one_line_error(result.output, result.exit_code)
    assert "not a SQLite database" in result.output
    assert digest(path) == before


def test_reading_commands_never_create_or_modify_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "liveexec.db"
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (missing, empty):
        for command in (["runs", "list"], ["db", "current"], ["runs", "show", "x"]):
            result = runner.invoke(app, [*command, "--db", f"sqlite:///{path}"])
            assert_one_line_error(result.output, result.exit_code)
            assert "liveexec db upgrade" in result.output
    assert not missing.exists() and not missing.parent.exists()
    assert empty.stat().st_size == 0
    # Creating is what upgrade is for: an empty file becomes a liveexec database.
    upgrade(f"sqlite:///{empty}")
    assert current_revision(create_db_engine(f"sqlite:///{empty}")) == head_revision()


def test_a_read_only_database_fails_the_run_in_one_line_without_sql(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    upgrade(f"sqlite:///{path}")
    prepare_demo_catalog(load_config(QUOTER))
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = runner.invoke(app, ["backtest", str(QUOTER), "--db", read_only, "--no-progress"])
    assert_one_line_error(result.output, result.exit_code)
    assert "readonly" in result.output


@pytest.mark.postgres
def test_a_postgres_role_without_privileges_is_one_clear_line(postgres_url: str) -> None:
    role = "liveexec_nopriv"
    admin = create_db_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'"))
        connection.execute(text(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {role}"))
    try:
        url = make_url(postgres_url).set(username=role, password=SECRET)
        result = runner.invoke(
            app, ["db", "upgrade", "--db", url.render_as_string(hide_password=False)]
        )
        assert_one_line_error(result.output, result.exit_code)
        assert "permission denied" in result.output
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP OWNED BY {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://relative.db",
        f"postgresql://trader:{SECRET}@127.0.0.1:notaport/db",
        f"postgresql://trader:{SECRET}@127.0.0.1:9/liveexec",
        "mysql://u@h/db",
    ],
)
def test_bad_urls_are_one_line_without_the_password(url: str) -> None:
    for command in (["db", "upgrade"], ["runs", "list"]):
        result = runner.invoke(app, [*command, "--db", url])
        assert_one_line_error(result.output, result.exit_code)


def test_a_database_newer_than_the_code_says_so(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for command in (["runs", "list"], ["db", "upgrade"]):
        result = runner.invoke(app, [*command, "--db", url])
        assert_one_line_error(result.output, result.exit_code)
    shown = runner.invoke(app, ["runs", "list", "--db", url])
    assert "newer than this liveexec" in shown.output


def concurrent_upgrades(url: str, count: int = 10) -> list[subprocess.CompletedProcess[str]]:
    exe = str(Path(sys.executable).with_name("liveexec"))

    def one(_: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, "db", "upgrade", "--db", url], capture_output=True, text=True, check=False
        )

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_first_use_of_a_fresh_sqlite_database_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    results = concurrent_upgrades(url)
    assert [r.returncode for r in results] == [0] * len(results), [r.stderr for r in results]
    assert current_revision(create_db_engine(url)) == head_revision()


@pytest.mark.postgres
def test_concurrent_first_use_of_a_fresh_postgres_database_all_succeed(postgres_url: str) -> None:
    results = concurrent_upgrades(postgres_url)
    assert [r.returncode for r in results] == [0] * len(results), [r.stderr for r in results]
    assert current_revision(create_db_engine(postgres_url)) == head_revision()
