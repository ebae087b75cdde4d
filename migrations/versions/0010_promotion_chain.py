"""Promotion decisions become a hash chain that the database keeps append-only.

``promotions`` gains ``format``, ``seq`` (the row's place, 1, 2, ...), ``prev_hash`` and
``row_hash`` (SHA-256 of the row's canonical form, see liveexec.db._chain), ``binding`` (what
the decision binds: sources, versions, risk section, run hashes) and the approver's Ed25519
``approver_key`` and ``signature``. The decision in force on a config is its newest row in
chain order (``seq``), no longer the one with the latest client-supplied ``decided_at``.

Rows recorded before this revision are chained here, in ``id`` order, unsigned: they stay in
the audit trail, but an unsigned approval approves nothing, so a config approved before must
be promoted again by a signing approver.

Triggers, both databases: UPDATE and DELETE refused (as 0005); an INSERT refused unless it
extends the chain (``seq`` = newest + 1, ``prev_hash`` = its ``row_hash``). PostgreSQL also
refuses TRUNCATE (a statement trigger: the row triggers of 0005 never saw it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from alembic import op

from liveexec.db import UTCDateTime
from liveexec.db._types import JSONDocument

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

_REFUSAL = "promotions are append-only: record a new decision instead"
_CHAIN = "promotions form a hash chain: a new decision must follow the newest one"
_GENESIS = "0" * 64

# Format 1 of liveexec.db._chain, copied: a migration must not change when the code does.
_FIELDS = (
    "format",
    "seq",
    "prev_hash",
    "promotion_id",
    "config_id",
    "decision",
    "backtest_run_id",
    "paper_run_id",
    "binding",
    "metrics",
    "criteria",
    "failed",
    "evidence",
    "approver",
    "approver_key",
    "reason",
    "liveexec_version",
    "decided_at",
)


def _jsonable(value: object) -> Any:  # noqa: ANN401
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be recorded in a promotion decision")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")


def _row_hash(row: dict[str, Any]) -> str:
    fields = {name: row[name] for name in _FIELDS}
    fields["decided_at"] = row["decided_at"].astimezone(UTC).isoformat(timespec="microseconds")
    text = json.dumps(
        _jsonable(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    return hashlib.sha256(b"liveexec promotion decision, format 1\n" + text).hexdigest()


_PROMOTIONS = sa.table(
    "promotions",
    sa.column("id", sa.BigInteger()),
    sa.column("format", sa.Integer()),
    sa.column("seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
    sa.column("promotion_id", sa.String()),
    sa.column("config_id", sa.String()),
    sa.column("decision", sa.String()),
    sa.column("backtest_run_id", sa.String()),
    sa.column("paper_run_id", sa.String()),
    sa.column("binding", JSONDocument),
    sa.column("metrics", JSONDocument),
    sa.column("criteria", JSONDocument),
    sa.column("failed", JSONDocument),
    sa.column("evidence", JSONDocument),
    sa.column("approver", sa.String()),
    sa.column("approver_key", sa.String()),
    sa.column("reason", sa.Text()),
    sa.column("liveexec_version", sa.String()),
    sa.column("decided_at", UTCDateTime()),
)


def _drop_triggers(postgres: bool, *, chain: bool) -> None:
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS promotions_append_only ON promotions")
        if chain:
            op.execute("DROP TRIGGER IF EXISTS promotions_no_truncate ON promotions")
            op.execute("DROP TRIGGER IF EXISTS promotions_chain ON promotions")
            op.execute("DROP FUNCTION IF EXISTS liveexec_promotions_chain()")
    else:
        op.execute("DROP TRIGGER IF EXISTS promotions_no_update")
        op.execute("DROP TRIGGER IF EXISTS promotions_no_delete")
        if chain:
            op.execute("DROP TRIGGER IF EXISTS promotions_chain")


def _append_only_triggers(postgres: bool) -> None:
    """0005's UPDATE/DELETE refusal (its PostgreSQL function is kept across this revision)."""
    if postgres:
        op.execute(
            "CREATE TRIGGER promotions_append_only BEFORE UPDATE OR DELETE ON promotions "
            "FOR EACH ROW EXECUTE FUNCTION liveexec_promotions_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER promotions_no_{action.lower()} BEFORE {action} ON promotions "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
            )


def _chain_existing_rows() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_PROMOTIONS).order_by(_PROMOTIONS.c.id)).mappings().all()
    previous = _GENESIS
    for seq, found in enumerate(rows, start=1):
        row = dict(found)
        row.update(format=1, seq=seq, prev_hash=previous, binding={}, approver_key=None)
        row["row_hash"] = _row_hash(row)
        bind.execute(
            _PROMOTIONS.update()
            .where(_PROMOTIONS.c.id == row["id"])
            .values(
                format=1,
                seq=seq,
                prev_hash=previous,
                row_hash=row["row_hash"],
                binding={},
            )
        )
        previous = row["row_hash"]


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    _drop_triggers(postgres, chain=False)
    with op.batch_alter_table("promotions") as batch:
        batch.add_column(sa.Column("format", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("binding", JSONDocument, nullable=True))
        batch.add_column(sa.Column("approver_key", sa.String(length=44), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(length=88), nullable=True))
    _chain_existing_rows()
    with op.batch_alter_table("promotions") as batch:
        for name in ("format", "seq", "prev_hash", "row_hash", "binding"):
            batch.alter_column(name, nullable=False)
        batch.create_unique_constraint(op.f("uq_promotions_seq"), ["seq"])
        batch.create_unique_constraint(op.f("uq_promotions_prev_hash"), ["prev_hash"])
        batch.create_unique_constraint(op.f("uq_promotions_row_hash"), ["row_hash"])
        batch.drop_index("ix_promotions_config_decided")
        batch.create_index("ix_promotions_config_seq", ["config_id", "seq"])
    _append_only_triggers(postgres)
    if postgres:
        op.execute(
            "CREATE TRIGGER promotions_no_truncate BEFORE TRUNCATE ON promotions "
            "FOR EACH STATEMENT EXECUTE FUNCTION liveexec_promotions_append_only()"
        )
        # Appends serialised by a transaction lock, so the head read here is the one that
        # stays the head until this row commits.
        op.execute(
            "CREATE FUNCTION liveexec_promotions_chain() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "DECLARE head_seq bigint; head_hash varchar;\n"
            "BEGIN\n"
            "  PERFORM pg_advisory_xact_lock(hashtext('liveexec.promotions'));\n"
            "  SELECT seq, row_hash INTO head_seq, head_hash FROM promotions\n"
            "    ORDER BY seq DESC LIMIT 1;\n"
            f"  IF NEW.seq IS DISTINCT FROM COALESCE(head_seq, 0) + 1\n"
            f"     OR NEW.prev_hash IS DISTINCT FROM COALESCE(head_hash, '{_GENESIS}') THEN\n"
            f"    RAISE EXCEPTION '{_CHAIN} (seq %, prev_hash %)',\n"
            "      COALESCE(head_seq, 0) + 1, COALESCE(head_hash, 'genesis');\n"
            "  END IF;\n"
            "  RETURN NEW;\n"
            "END $$"
        )
        op.execute(
            "CREATE TRIGGER promotions_chain BEFORE INSERT ON promotions "
            "FOR EACH ROW EXECUTE FUNCTION liveexec_promotions_chain()"
        )
    else:
        op.execute(
            "CREATE TRIGGER promotions_chain BEFORE INSERT ON promotions WHEN "
            "NEW.seq IS NOT COALESCE((SELECT max(seq) FROM promotions), 0) + 1 OR "
            "NEW.prev_hash IS NOT COALESCE("
            f"(SELECT row_hash FROM promotions ORDER BY seq DESC LIMIT 1), '{_GENESIS}') "
            f"BEGIN SELECT RAISE(ABORT, '{_CHAIN}'); END"
        )


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    _drop_triggers(postgres, chain=True)
    with op.batch_alter_table("promotions") as batch:
        batch.drop_index("ix_promotions_config_seq")
        batch.drop_constraint(op.f("uq_promotions_row_hash"), type_="unique")
        batch.drop_constraint(op.f("uq_promotions_prev_hash"), type_="unique")
        batch.drop_constraint(op.f("uq_promotions_seq"), type_="unique")
        for name in ("signature", "approver_key", "binding", "row_hash", "prev_hash", "seq"):
            batch.drop_column(name)
        batch.drop_column("format")
        batch.create_index("ix_promotions_config_decided", ["config_id", "decided_at"])
    _append_only_triggers(postgres)
