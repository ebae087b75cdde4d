"""The promotion record as a hash chain: appending a decision, verifying every link and
signature, exporting the head, and this machine's memory of the heads it has seen.

A database writer can append junk (it breaks the chain, and ``live`` then refuses every
config until someone looks) but cannot forge an approval without a trusted approver's key, nor
change, reorder or insert a row before the head without breaking every link after it. What a
hash chain alone cannot show is a chain cut back to an earlier head (the newest rejection
deleted by someone who can disable the triggers): the head is exported
(``liveexec promotions head``) to be compared later, and every ``promote``, ``verify`` and
``live`` on a machine remembers the newest head it saw of each database, refusing a record
that no longer contains it.
"""

from __future__ import annotations

import fcntl
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from liveexec.config import liveexec_home
from liveexec.db import CHAIN_FORMAT as FORMAT
from liveexec.db import CHAIN_GENESIS as GENESIS
from liveexec.db import Promotion, mask_url
from liveexec.db import chain_jsonable as jsonable
from liveexec.db import chain_row_hash as row_hash
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.promotion._keys import Signer, TrustedApprovers, fingerprint, verify_signature

__all__ = [
    "WITNESS_FILE",
    "ChainHead",
    "ChainReport",
    "RowIssue",
    "append_decision",
    "check_witness",
    "head_problem",
    "new_promotion_id",
    "now",
    "read_chain",
    "read_head_file",
    "remember_head",
    "verify_chain",
]

_PROMOTIONS: Table = Promotion.__table__  # type: ignore[attr-defined]
WITNESS_FILE = "promotion_heads.json"
_APPEND_ATTEMPTS = 20


@dataclass(frozen=True)
class ChainHead:
    """The newest row of a chain: exported, kept, compared."""

    seq: int
    row_hash: str
    genesis: str  # the first row's hash: tells one chain from another at the same URL

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "row_hash": self.row_hash, "genesis": self.genesis}


@dataclass(frozen=True)
class RowIssue:
    seq: int | None
    promotion_id: str
    problem: str

    def __str__(self) -> str:
        return f"row {self.seq} ({self.promotion_id}): {self.problem}"


@dataclass
class ChainReport:
    """The whole chain checked: broken links and rows, and each signed row's signer."""

    rows: list[Promotion]
    broken: list[RowIssue] = field(default_factory=list)
    # promotion_id -> trusted approver's name, for rows whose signature verifies with a key
    # the trusted approvers file lists under the row's approver name.
    trusted_signer: dict[str, str] = field(default_factory=dict)
    # promotion_id -> why a validly signed row's signature does not count (key not trusted).
    signature_problem: dict[str, str] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not self.broken

    @property
    def head(self) -> ChainHead | None:
        if not self.rows:
            return None
        return ChainHead(self.rows[-1].seq, self.rows[-1].row_hash, self.rows[0].row_hash)


def _columns(row: Promotion) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in _PROMOTIONS.columns}


def read_chain(engine: Engine) -> list[Promotion]:
    """Every decision in chain order (``seq``)."""
    with Session(engine) as session:
        query = select(Promotion).order_by(_PROMOTIONS.c.seq, _PROMOTIONS.c.id)
        return list(session.execute(query).scalars().all())


def verify_chain(rows: list[Promotion], trusted: TrustedApprovers) -> ChainReport:
    """Every row's hash recomputed from its columns, every link and place checked, every
    signature checked against the trusted approvers."""
    report = ChainReport(rows)
    previous_hash, previous_id = GENESIS, None
    for expected_seq, row in enumerate(rows, start=1):
        problems = []
        if row.seq != expected_seq:
            problems.append(f"is at place {expected_seq} of the chain but says {row.seq}")
        if row.prev_hash != previous_hash:
            problems.append("does not link to the row before it (prev_hash differs)")
        if previous_id is not None and row.id is not None and row.id <= previous_id:
            problems.append("was inserted before the row it follows")
        try:
            recomputed = row_hash(_columns(row))
        except (TypeError, ValueError) as exc:
            recomputed = f"<unhashable: {exc}>"
        if row.format != FORMAT:
            problems.append(f"has format {row.format}, this liveexec reads {FORMAT}")
        elif recomputed != row.row_hash:
            problems.append("was changed after it was recorded (its hash does not match)")
        report.broken.extend(RowIssue(row.seq, row.promotion_id, p) for p in problems)
        if row.signature is not None or row.approver_key is not None:
            _check_signature(row, trusted, report)
        previous_hash, previous_id = row.row_hash, row.id
    return report


def _check_signature(row: Promotion, trusted: TrustedApprovers, report: ChainReport) -> None:
    """A signature that does not verify is a forged or altered row (the chain is broken); one
    that verifies with a key the trusted approvers file does not list for the row's approver
    only does not count."""
    if row.signature is None or row.approver_key is None:
        report.broken.append(
            RowIssue(row.seq, row.promotion_id, "has half a signature (a key or a value alone)")
        )
    elif not verify_signature(row.approver_key, row.signature, row.row_hash):
        report.broken.append(
            RowIssue(
                row.seq,
                row.promotion_id,
                f"its signature does not verify with key {fingerprint(row.approver_key)}",
            )
        )
    elif not trusted.trusts(row.approver, row.approver_key):
        others = trusted.names_of(row.approver_key)
        report.signature_problem[row.promotion_id] = (
            f"is signed by key {fingerprint(row.approver_key)}, which {trusted.path} does not "
            f"list for {row.approver!r}"
            + (f" (it lists it for {', '.join(others)})" if others else "")
        )
    else:
        report.trusted_signer[row.promotion_id] = row.approver


def _is_chain_conflict(exc: DBAPIError) -> bool:
    """Another decision was appended between reading the head and inserting after it."""
    text_ = str(exc.orig).lower()
    return any(
        marker in text_
        for marker in ("hash chain", "unique", "duplicate key", "database is locked")
    )


def append_decision(engine: Engine, fields: Mapping[str, Any], signer: Signer | None) -> Promotion:
    """Append one decision after the current head, signed by ``signer`` when given. ``fields``
    are the row's columns but the chain's own (``seq``, ``prev_hash``, ``row_hash``,
    ``format``, ``approver_key``, ``signature``), which are set here. Concurrent appends
    retry on the new head."""
    for attempt in range(_APPEND_ATTEMPTS):
        with Session(engine) as session:
            if engine.dialect.name == "postgresql":
                # The insert trigger takes the same lock: appends go one at a time.
                session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext('liveexec.promotions'))")
                )
            head = session.execute(
                select(_PROMOTIONS.c.seq, _PROMOTIONS.c.row_hash)
                .order_by(_PROMOTIONS.c.seq.desc())
                .limit(1)
            ).first()
            values: dict[str, Any] = {
                **{key: jsonable(value) for key, value in fields.items() if key != "decided_at"},
                "decided_at": fields["decided_at"],
                "format": FORMAT,
                "seq": (head[0] + 1) if head else 1,
                "prev_hash": head[1] if head else GENESIS,
                "approver_key": signer.public_key if signer else None,
            }
            values["row_hash"] = row_hash(values)
            values["signature"] = signer.sign(values["row_hash"]) if signer else None
            row = Promotion(**values)
            session.add(row)
            try:
                session.commit()
            except DBAPIError as exc:
                session.rollback()
                if not _is_chain_conflict(exc) or attempt == _APPEND_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
                continue
            session.refresh(row)
            return row
    raise AssertionError("unreachable")  # pragma: no cover


def new_promotion_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


# --- this machine's memory of the heads it saw ---------------------------------------------


def _witness_key(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return f"sqlite:///{Path(url.database).resolve()}"
    return mask_url(url.set(drivername=url.get_backend_name()))


def _witness_file() -> Path:
    return liveexec_home() / WITNESS_FILE


def _read_witness() -> dict[str, dict[str, Any]]:
    path = _witness_file()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            "promotion heads",
            [ConfigIssue(str(path), f"cannot be read ({exc})", "restore it or remove it")],
        ) from None
    return data if isinstance(data, dict) else {}


def _contains(rows: list[Promotion], head: Mapping[str, Any]) -> str | None:
    """Why ``rows`` do not contain the exported/remembered ``head``; None when they do."""
    seq, expected = head.get("seq"), head.get("row_hash")
    genesis = head.get("genesis")
    if not isinstance(seq, int) or not isinstance(expected, str):
        return "the head is not {seq, row_hash}"
    if genesis and rows and rows[0].row_hash != genesis:
        return "the record was replaced: its first row is not the one seen"
    if len(rows) < seq:
        return (
            f"the record was cut back: row {seq} was seen (hash {expected[:12]}...), the "
            f"record now ends at row {len(rows)}"
        )
    if rows[seq - 1].row_hash != expected:
        return f"row {seq} is not the row seen (hash {expected[:12]}...)"
    return None


def check_witness(engine: Engine, rows: list[Promotion]) -> str | None:
    """Why this database's record no longer contains the newest head this machine saw of it."""
    seen = _read_witness().get(_witness_key(engine))
    if seen is None:
        return None
    problem = _contains(rows, seen)
    if problem is None:
        return None
    return f"{problem} (this machine saw row {seen.get('seq')} on {seen.get('seen_at', '?')})"


def remember_head(engine: Engine, head: ChainHead | None, *, reset: bool = False) -> None:
    """Keep ``head`` as the newest seen of this database (a lower one never replaces a higher
    one unless ``reset``). Read-modify-write under an exclusive lock: concurrent commands on
    this machine never lose each other's heads."""
    if head is None and not reset:
        return
    path = _witness_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f".{path.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _read_witness()
        key = _witness_key(engine)
        kept = data.get(key)
        if head is None:
            data.pop(key, None)
        elif reset or kept is None or int(kept.get("seq", 0)) <= head.seq:
            data[key] = {**head.as_dict(), "seen_at": now().isoformat(timespec="seconds")}
        else:
            return
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True))
        temporary.replace(path)


def read_head_file(path: Path) -> dict[str, Any]:
    """An exported head (``liveexec promotions head --out FILE``)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError("--head", [ConfigIssue(str(path), f"cannot be read ({exc})")]) from None
    if not isinstance(data, dict):
        raise ConfigError("--head", [ConfigIssue(str(path), "is not a head object")])
    return data


def head_problem(rows: list[Promotion], head: Mapping[str, Any]) -> str | None:
    """Why ``rows`` do not contain an exported head; None when they do."""
    return _contains(rows, head)
