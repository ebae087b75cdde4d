"""The project's front door: `nox` runs what CI runs; `nox -l` lists the sessions.

Every session installs liveexec from pyproject.toml, pinned by requirements.lock.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "schemas", "migrations", "notebooks", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = os.environ.get("CI", "").lower() == "true"

LOCK = "requirements.lock"
SUPPORTED = ("3.12", "3.13")
# Test on every supported interpreter on PATH (.ci/run puts the machine's ones there).
PYTHONS = [version for version in SUPPORTED if shutil.which(f"python{version}")] or ["3.12"]
TOOLS_PYTHON = PYTHONS[0]


def install(session: nox.Session, extras: str) -> None:
    session.install("-c", LOCK, "-e", f".[{extras}]")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (PostgreSQL tests need LIVEEXEC_TEST_POSTGRES_URL; CI sets it).

    The end-to-end tests marked `slow` (real nodes on real data) run on the first interpreter;
    the others on every one, so CI stays well inside its time budget on 2 cores.
    """
    install(session, "test")
    marks = "not migrations and not notebooks"
    if session.python != PYTHONS[0]:
        marks += " and not slow"
    session.run("pytest", "-m", marks, *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def notebooks(session: nox.Session) -> None:
    """Execute every notebook with papermill on the bundled data (and the pipeline, `liveexec lab`)
    on SQLite and PostgreSQL."""
    install(session, "test,notebook")
    session.run("pytest", "-m", "notebooks", *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def migrations(session: nox.Session) -> None:
    """Alembic upgrade -> downgrade -> upgrade and model/migration drift, SQLite and PostgreSQL."""
    install(session, "test")
    session.run("pytest", "-m", "migrations", *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on liveexec/, migrations/, benchmarks/ and this file (see [tool.mypy])."""
    install(session, "typecheck")
    session.run("mypy", *session.posargs)


@nox.session(python=TOOLS_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("-c", LOCK, "ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=TOOLS_PYTHON)
def schemas(session: nox.Session) -> None:
    """Regenerate schemas/ and docs/CONFIG.md from the config models; fail if they differ from
    what is committed."""
    install(session, "test")
    session.run("liveexec", "config", "schema", "-o", "schemas/liveexec-config.schema.json")
    session.run("liveexec", "config", "reference", "-o", "docs/CONFIG.md")
    session.run("git", "diff", "--exit-code", "--", "schemas", "docs/CONFIG.md", external=True)
