"""PostgreSQL stops in the middle of a recorded backtest (a private server, started and stopped
by the test; the shared one is never touched): the run ends with one clear line and exit code 1,
what was committed is consistent, and once the server is back the run shows as abandoned."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.config import load_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from tests.integration.test_sigkill import BARS, check_consistent, count

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
runner = CliRunner(env={"COLUMNS": "2000"})


class PrivateServer:
    """A PostgreSQL server of the test's own, in a temporary folder, on a free port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        # PostgreSQL refuses to run as root: as root, run it as the 'postgres' user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)

    def init(self, *, password: str | None = None) -> None:
        """Trust authentication, or with ``password`` SCRAM (``postgres`` has that password)."""
        if password is None:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
            return
        secret = self.root / "pwfile"
        secret.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(secret, "postgres")
        self._run(
            *("initdb", "-D", str(self.data), "-U", "postgres", "-A", "scram-sha-256"),
            f"--pwfile={secret}",
        )
        secret.unlink()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


@contextlib.contextmanager
def started_private_postgres(password: str | None = None) -> Iterator[PrivateServer]:
    """A private server for one test (see :meth:`PrivateServer.init`), removed after it."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("initdb and pg_ctl are needed on CI for private PostgreSQL servers")
        pytest.skip("initdb/pg_ctl not installed")
    root = Path(tempfile.mkdtemp(prefix="liveexec-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    server = PrivateServer(root)
    server.init(password=password)
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped by the test
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivateServer]:
    with started_private_postgres() as server:
        yield server


def test_an_outage_mid_run_is_one_line_and_the_run_is_abandoned_once_back(
    private_postgres: PrivateServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = private_postgres.url
    catalog = tmp_path / "catalog"
    monkeypatch.setenv("LIVEEXEC_CATALOG", str(catalog))
    prepare_demo_catalog(load_config(BARS))
    upgrade(url)
    exe = Path(sys.executable).with_name("liveexec")
    process = subprocess.Popen(
        [exe, "backtest", BARS, "--db", url, "--no-progress", "--set", "logging.level=ERROR"],
        env={**os.environ, "LIVEEXEC_CATALOG": str(catalog)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if count(url, "SELECT count(*) FROM order_events") > 0:
            break
        time.sleep(0.02)
    private_postgres.stop("immediate")
    _out, err = process.communicate(timeout=180)
    assert process.returncode == 1, err
    assert "Traceback" not in err
    assert "error:" in err and "127.0.0.1" in err
    private_postgres.start()
    check_consistent(url)
    listed = runner.invoke(app, ["runs", "list", "--db", url])
    assert listed.exit_code == 0, listed.output
    assert count(url, "SELECT count(*) FROM runs WHERE status = 'abandoned'") == 1
    assert "abandoned" in listed.output
