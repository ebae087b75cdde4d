"""Shared fixtures: an isolated liveexec home, and real SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "LIVEEXEC_TEST_POSTGRES_URL"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own LIVEEXEC_HOME and config directory (no approver key, nobody
    trusted), and no inherited database URL."""
    home = tmp_path_factory.mktemp("liveexec-home")
    monkeypatch.setenv("LIVEEXEC_HOME", str(home))
    monkeypatch.setenv("LIVEEXEC_CATALOG", str(home / "catalog"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for name in (
        "LIVEEXEC_DATABASE_URL",
        "LIVEEXEC_SIGNING_KEY",
        "LIVEEXEC_SIGNING_KEY_PASSPHRASE",
        "LIVEEXEC_TRUSTED_APPROVERS",
        "LIVEEXEC_APPROVER",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session")
def demo_catalog_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example config's bundled data in one catalog, imported once per test session."""
    from liveexec.config import load_config  # noqa: PLC0415 (NautilusTrader loads on use)
    from liveexec.demo import prepare_demo_catalog  # noqa: PLC0415
    from liveexec.examples import example_configs  # noqa: PLC0415

    root = tmp_path_factory.mktemp("demo-catalog") / "catalog"
    for path in example_configs():
        prepare_demo_catalog(load_config(path, overrides=[f"data.catalog.path={root}"]))
    return root


@pytest.fixture
def demo_catalog(demo_catalog_master: Path, isolated_home: Path) -> Path:
    """The bundled demo data in this test's own catalog (``$LIVEEXEC_CATALOG``, where the
    example configs keep theirs): a copy of the session's, instead of importing the raw files
    again (``prepare_demo_catalog`` then finds the data there and writes nothing)."""
    target = Path(os.environ["LIVEEXEC_CATALOG"])
    shutil.copytree(demo_catalog_master, target, dirs_exist_ok=True)
    return target


@pytest.fixture
def approver(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An approver 'alice' whose key signs by default and whom this host trusts; returns the
    trusted approvers line."""
    from liveexec.promotion import generate_key  # noqa: PLC0415 (imports the gate)

    signer = generate_key(isolated_home / "keys" / "alice.pem")
    trusted = isolated_home / "trusted_approvers"
    line = f"alice ed25519 {signer.public_key}"
    trusted.write_text(f"# approvers of this test\n{line}\n")
    monkeypatch.setenv("LIVEEXEC_SIGNING_KEY", str(signer.path))
    monkeypatch.setenv("LIVEEXEC_TRUSTED_APPROVERS", str(trusted))
    return line


def _postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{POSTGRES_ENV} must be set on CI: PostgreSQL tests may not be skipped there")
    pytest.skip(
        f"no PostgreSQL: set {POSTGRES_ENV}=postgresql://USER@HOST:PORT/DB to run this test"
    )
    return None


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped on exit."""
    admin_url = _postgres_admin_url()
    assert admin_url is not None
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"liveexec_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        engine.dispose()
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"PostgreSQL at {admin.render_as_string(hide_password=True)} not usable: {exc}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database shared by the tests of one module."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'liveexec.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on the embedded SQLite default and on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"team data set not found at {SHARED_DATA}")
    return SHARED_DATA
