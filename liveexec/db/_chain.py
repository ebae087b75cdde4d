"""The hash chain of the ``promotions`` table: the canonical form of a decision row and its hash.

Each decision row holds ``seq`` (its place: 1, 2, ... in insertion order, one chain per
database), ``prev_hash`` (the ``row_hash`` of the row before it; :data:`GENESIS` for the first)
and ``row_hash``, the SHA-256 of the row's canonical form, which includes ``seq`` and
``prev_hash``. Changing, removing or reordering a row breaks every link after it; a signature
over ``row_hash`` (liveexec.promotion) pins a decision to its place in the chain.

Format 1 is frozen: rows recorded under it must verify forever. A change is a new format
number, with this one kept for the rows that use it (migration 0010 carries its own copy).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CHAIN_FIELDS",
    "FORMAT",
    "GENESIS",
    "canonical_json",
    "jsonable",
    "payload",
    "row_hash",
    "signed_message",
]

FORMAT = 1
GENESIS = "0" * 64
# The columns a row's hash covers: everything but its surrogate key, its hash and its signature.
CHAIN_FIELDS = (
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
_DOMAIN = b"liveexec promotion decision, format 1\n"


def jsonable(value: object) -> Any:  # noqa: ANN401 (JSON-shaped)
    """``value`` as the JSON a database hands back: integral floats as ints (PostgreSQL's
    ``jsonb`` returns ``1e16`` as ``10000000000000000``), other floats as they are (their
    shortest text survives ``jsonb``); non-finite numbers are refused."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be recorded in a promotion decision")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")


def canonical_json(value: object) -> bytes:
    """One byte string per JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def payload(row: Mapping[str, Any]) -> bytes:
    """The canonical form of a decision row (its :data:`CHAIN_FIELDS`)."""
    fields: dict[str, Any] = {name: row[name] for name in CHAIN_FIELDS}
    decided = fields["decided_at"]
    if not isinstance(decided, datetime) or decided.tzinfo is None:
        raise ValueError(f"decided_at must be a timezone-aware datetime, got {decided!r}")
    fields["decided_at"] = decided.astimezone(UTC).isoformat(timespec="microseconds")
    return _DOMAIN + canonical_json(fields)


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`payload`."""
    return hashlib.sha256(payload(row)).hexdigest()


def signed_message(hash_hex: str) -> bytes:
    """What an approver's key signs: the row hash, under a purpose no other message shares."""
    return b"liveexec promotion signature, format 1: " + hash_hex.encode()
