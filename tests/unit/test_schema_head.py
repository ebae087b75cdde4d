"""The schema revision a run checks for without loading Alembic is Alembic's head."""

from __future__ import annotations

import subprocess
import sys

from liveexec.db import SCHEMA_HEAD, head_revision


def test_schema_head_is_alembics_head() -> None:
    assert head_revision() == SCHEMA_HEAD, (
        "a migration was added: set liveexec.db._migrate.SCHEMA_HEAD to its revision"
    )


def test_a_backtest_import_does_not_load_alembic() -> None:
    code = (
        "import sys, liveexec.backtesting, liveexec.cli._app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'psycopg')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "alembic" not in out.stdout, out.stdout
