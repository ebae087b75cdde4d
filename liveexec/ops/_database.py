"""One way into the database for every operation: opened for a purpose, errors made one line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

from sqlalchemy import Engine

from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.db import (
    check_reachable,
    create_db_engine,
    database_errors,
    require_current_schema,
)
from liveexec.runs import reap_abandoned

__all__ = ["Purpose", "database"]

# read: the schema at head and dead runs marked abandoned first, so what is read is what the
# rows say now; write: the same (every write needs the schema it was written for); reach: the
# server reachable, whatever schema (db current, db check).
Purpose = Literal["read", "write", "reach"]


@contextlib.contextmanager
def database(
    url: str | None = None,
    *,
    purpose: Purpose = "read",
    cfg: LiveexecConfig | None = None,
    action: str | None = None,
) -> Iterator[Engine]:
    """The database (``url``, else as resolved for ``cfg``: ``$LIVEEXEC_DATABASE_URL``, the
    config's, the embedded default) opened for ``purpose``; a driver error while the block
    runs is one ``DatabaseError`` line naming ``action``. A missing SQLite file is never
    created."""
    engine = create_db_engine(resolve_database_url(cfg, override=url), create=False)
    try:
        with database_errors(engine, action or purpose):
            if purpose == "reach":
                check_reachable(engine)
            else:
                require_current_schema(engine)
                reap_abandoned(engine)
            yield engine
    finally:
        engine.dispose()
