"""``database``: where every run is recorded."""

from __future__ import annotations

from pydantic import Field, SecretStr

from liveexec.config._base import FrozenModel

__all__ = ["DatabaseConfig"]


class DatabaseConfig(FrozenModel):
    url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL (sqlite:///... or postgresql+psycopg://...). Default: a SQLite file in "
            "the user data directory. LIVEEXEC_DATABASE_URL overrides it."
        ),
    )
    echo: bool = Field(default=False, description="Log every SQL statement (SQLAlchemy's echo).")
