"""A PostgreSQL password need not be on the command line, where every local user sees it in
`ps`: a private server with SCRAM authentication, reached through PostgreSQL's own password
file; a password given with --db is warned about and never printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_postgres_outage import started_private_postgres

pytestmark = pytest.mark.postgres
LIVEEXEC = str(Path(sys.executable).with_name("liveexec"))
PASSWORD = "s3cret-pg-pass-91c2"


def _liveexec(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LIVEEXEC, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_password_comes_from_a_password_file_not_the_command_line(tmp_path: Path) -> None:
    with started_private_postgres(password=PASSWORD) as server:
        url = server.url  # postgresql://postgres@127.0.0.1:PORT/postgres: no password in it
        env = {
            **os.environ,
            "LIVEEXEC_HOME": str(tmp_path / "home"),
            "PGPASSFILE": str(tmp_path / "nothing"),
        }
        env.pop("PGPASSWORD", None)
        refused = _liveexec("db", "upgrade", "--db", url, env=env)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "password" in refused.stderr  # the server asked for one
        pgpass = tmp_path / "pgpass"
        pgpass.write_text(f"127.0.0.1:{server.port}:*:postgres:{PASSWORD}\n")
        pgpass.chmod(0o600)
        env["PGPASSFILE"] = str(pgpass)
        done = _liveexec("db", "upgrade", "--db", url, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert _liveexec("db", "check", "--db", url, env=env).returncode == 0
        # With the password in --db it works too, with a warning, and the password is masked.
        env["PGPASSFILE"] = str(tmp_path / "nothing")
        with_password = url.replace("postgres@", f"postgres:{PASSWORD}@")
        shown = _liveexec("runs", "list", "--db", with_password, env=env)
        output = shown.stdout + shown.stderr
        assert shown.returncode == 0, output
        assert "every local user can read in `ps`" in " ".join(shown.stderr.split())
        assert PASSWORD not in output
