"""A full disk for SQLite, without privileges: put this directory first on ``PYTHONPATH`` of a
subprocess and set ``LIVEEXEC_TEST_SQLITE_MAX_PAGES``. Python imports ``sitecustomize`` at
start-up, in the node's process and in its recorder's writer process alike; every SQLite
connection they open then caps its database at that many pages (``PRAGMA max_page_count``,
which lasts for the connection). A write that needs a page beyond it fails as a write on a full
disk does: SQLITE_FULL, "database or disk is full". Nothing else changes; without the variable
this does nothing. (tests/live/test_paper_resume.py)
"""

from __future__ import annotations

import os
from typing import Any

_PAGES = os.environ.get("LIVEEXEC_TEST_SQLITE_MAX_PAGES")

if _PAGES:
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    def _cap(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"PRAGMA max_page_count = {int(_PAGES)}")

    event.listen(Pool, "connect", _cap)
