"""Where liveexec keeps its files, and which database a run writes to."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_data_dir

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = [
    "DATABASE_URL_ENV",
    "HOME_ENV",
    "default_database_url",
    "liveexec_home",
    "resolve_database_url",
]

HOME_ENV = "LIVEEXEC_HOME"
DATABASE_URL_ENV = "LIVEEXEC_DATABASE_URL"


def liveexec_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$LIVEEXEC_HOME``, else the user data directory (e.g. ``~/.local/share/liveexec``)."""
    env = os.environ if environ is None else environ
    configured = env.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path(user_data_dir("liveexec"))


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """The embedded default: a SQLite file in :func:`liveexec_home`."""
    return f"sqlite:///{liveexec_home(environ) / 'liveexec.db'}"


def resolve_database_url(
    config: LiveexecConfig | None = None,
    *,
    override: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The database URL, first found of: ``override`` (``--db``), ``$LIVEEXEC_DATABASE_URL``,
    the config's ``database.url``, the embedded SQLite default."""
    env = os.environ if environ is None else environ
    if override:
        return override
    if env.get(DATABASE_URL_ENV):
        return env[DATABASE_URL_ENV]
    if config is not None and config.database.url is not None:
        return config.database.url.get_secret_value()
    return default_database_url(env)
