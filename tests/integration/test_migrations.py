from __future__ import annotations

import pytest
from sqlalchemy import inspect

from liveexec.db import (
    create_db_engine,
    current_revision,
    downgrade,
    head_revision,
    metadata,
    schema_drift,
    upgrade,
)

pytestmark = pytest.mark.migrations

TABLES = {"runs", "unified_orders", "order_events", "unified_positions"}


def test_upgrade_downgrade_upgrade_and_no_drift(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        upgrade(db_url)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
        assert schema_drift(engine) == []

        downgrade(db_url, "base")
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())

        upgrade(db_url)
        assert current_revision(engine) == head_revision()
        assert schema_drift(engine) == []
    finally:
        engine.dispose()


def test_every_model_index_is_created_by_the_migrations(db_url: str) -> None:
    upgrade(db_url)
    engine = create_db_engine(db_url)
    try:
        inspector = inspect(engine)
        expected = {index.name for table in metadata.tables.values() for index in table.indexes}
        tables = inspector.get_table_names()
        created = {index["name"] for table in tables for index in inspector.get_indexes(table)}
        assert len(expected) >= 8
        assert expected <= created
    finally:
        engine.dispose()


def test_drift_is_detected_when_models_and_migrations_disagree(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "0001")  # the index migration is missing from the database
    engine = create_db_engine(db_url)
    try:
        drift = schema_drift(engine)
    finally:
        engine.dispose()
    assert any(item[0] == "add_index" for item in drift)
