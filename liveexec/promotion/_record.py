"""Promotion decisions in the append-only ``promotions`` table, and the check live runs make."""

from __future__ import annotations

import getpass
import hashlib
import html
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlmodel import Session

from liveexec._version import __version__
from liveexec.analysis import parity
from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.db import create_db_engine, database_errors, require_current_schema
from liveexec.db._models import Promotion
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.promotion._gate import Evaluation, evaluate
from liveexec.runs import RunResult, load_run

__all__ = [
    "APPROVER_ENV",
    "Decision",
    "EvidenceCheck",
    "NotApprovedError",
    "approver_name",
    "decide",
    "decision_in_force",
    "get_promotion",
    "list_promotions",
    "promote",
    "record_override",
    "require_approved",
    "sha256_file",
    "verify_evidence",
]

APPROVER_ENV = "LIVEEXEC_APPROVER"
_PROMOTIONS: Table = Promotion.__table__  # type: ignore[attr-defined]


class NotApprovedError(ConfigError):
    """A live run of a config whose newest promotion decision is not an approval."""

    def __init__(self, config_id: str, why: str) -> None:
        super().__init__(
            "promotion",
            [
                ConfigIssue(
                    f"config_id {config_id}",
                    why,
                    "record one with `liveexec promote CONFIG --backtest RUN_ID` (or run "
                    "`liveexec pipeline CONFIG --out DIR`); `liveexec live --force` overrides "
                    "and is recorded",
                )
            ],
        )
        self.config_id = config_id


def approver_name(approver: str | None = None) -> str:
    """``approver``, else ``$LIVEEXEC_APPROVER``, else the login name."""
    if approver:
        return approver
    if os.environ.get(APPROVER_ENV):
        return os.environ[APPROVER_ENV]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid:{os.getuid()}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _evidence(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise ConfigError(
            "promotion evidence",
            [ConfigIssue(path, "no such file") for path in missing],
        )
    return [
        {
            "path": str(Path(p).resolve()),
            "sha256": sha256_file(Path(p)),
            "bytes": Path(p).stat().st_size,
        }
        for p in paths
    ]


def _run(engine: Engine, run_id: str, role: str, config_id: str) -> RunResult:
    try:
        result = load_run(engine, run_id)
    except KeyError:
        raise ConfigError(
            "promotion",
            [
                ConfigIssue(
                    f"--{role}", f"no run {run_id!r} in this database", "see `liveexec runs list`"
                )
            ],
        ) from None
    if result.config_id != config_id:
        raise ConfigError(
            "promotion",
            [
                ConfigIssue(
                    f"--{role}",
                    f"run {run_id} is of config {result.config_id}, not of this config "
                    f"({config_id})",
                )
            ],
        )
    return result


def _insert(engine: Engine, row: Promotion) -> Promotion:
    with Session(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


@dataclass(frozen=True)
class Decision:
    row: Promotion
    evaluation: Evaluation

    @property
    def approved(self) -> bool:
        return self.row.decision == "approved"

    def _repr_html_(self) -> str:
        row = self.row
        lines = [
            ("decision", row.decision),
            ("promotion", row.promotion_id),
            ("config", row.config_id),
            ("backtest run", row.backtest_run_id or ""),
            ("paper run", row.paper_run_id or ""),
            ("approver", row.approver),
            ("decided", f"{row.decided_at:%Y-%m-%d %H:%M:%S} UTC"),
            *(
                ("failed", f"{f['criterion']}: {f['value']} (limit {f['limit']})")
                for f in row.failed
            ),
            *(("evidence", f"{e['path']} sha256 {e['sha256']}") for e in row.evidence),
        ]
        body = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in lines
        )
        return f"<h5>Promotion decision</h5><table><tbody>{body}</tbody></table>"


def promote(
    engine: Engine,
    cfg: LiveexecConfig,
    backtest_run_id: str,
    *,
    paper_run_id: str | None = None,
    evidence: Sequence[str | Path] = (),
    approver: str | None = None,
) -> Decision:
    """Evaluate ``cfg``'s promotion criteria on its runs and record the decision (approved or
    rejected, with every failed criterion). Bad input (an unknown run, a run of another config,
    a missing evidence file) raises ``ConfigError`` before anything is written."""
    backtest = _run(engine, backtest_run_id, "backtest", cfg.config_id)
    paper = _run(engine, paper_run_id, "paper", cfg.config_id) if paper_run_id else None
    report = parity(engine, backtest_run_id, paper_run_id) if paper_run_id else None
    files = _evidence(evidence)
    evaluation = evaluate(cfg.promotion, backtest, paper, report)
    row = Promotion(
        promotion_id=str(uuid.uuid4()),
        config_id=cfg.config_id,
        backtest_run_id=backtest_run_id,
        paper_run_id=paper_run_id,
        decision="approved" if evaluation.passed else "rejected",
        metrics=evaluation.metrics,
        criteria=evaluation.criteria,
        failed=[f.as_dict() for f in evaluation.failed],
        evidence=files,
        approver=approver_name(approver),
        reason=None,
        liveexec_version=__version__,
        decided_at=datetime.now(UTC),
    )
    return Decision(_insert(engine, row), evaluation)


def decide(
    cfg: LiveexecConfig,
    backtest_run_id: str,
    *,
    paper_run_id: str | None = None,
    evidence: Sequence[str | Path] = (),
    approver: str | None = None,
    database_url: str | None = None,
) -> Decision:
    """:func:`promote` on the config's database (``database_url``, else as resolved for it)."""
    engine = create_db_engine(resolve_database_url(cfg, override=database_url), create=False)
    try:
        with database_errors(engine, "recording the promotion"):
            require_current_schema(engine)
            return promote(
                engine,
                cfg,
                backtest_run_id,
                paper_run_id=paper_run_id,
                evidence=evidence,
                approver=approver,
            )
    finally:
        engine.dispose()


def record_override(
    engine: Engine, config_id: str, *, approver: str | None = None, reason: str | None = None
) -> Promotion:
    """Record a forced live start (``liveexec live --force``) of an unapproved config. It is
    a decision of its own: it does not approve the config for later runs."""
    return _insert(
        engine,
        Promotion(
            promotion_id=str(uuid.uuid4()),
            config_id=config_id,
            decision="forced",
            metrics={},
            criteria={},
            failed=[],
            evidence=[],
            approver=approver_name(approver),
            reason=reason or "live run started with --force",
            liveexec_version=__version__,
            decided_at=datetime.now(UTC),
        ),
    )


def list_promotions(engine: Engine, config_id: str | None = None) -> list[Promotion]:
    """Decisions, newest first (those of ``config_id`` only, when given)."""
    query = select(Promotion).order_by(_PROMOTIONS.c.decided_at.desc(), _PROMOTIONS.c.id.desc())
    if config_id is not None:
        query = query.where(_PROMOTIONS.c.config_id == config_id)
    with Session(engine) as session:
        return list(session.execute(query).scalars().all())


def decision_in_force(engine: Engine, config_id: str) -> Promotion | None:
    """The newest approval or rejection of ``config_id`` (forced starts approve nothing)."""
    for row in list_promotions(engine, config_id):
        if row.decision in ("approved", "rejected"):
            return row
    return None


def require_approved(engine: Engine, config_id: str) -> None:
    """Raise :class:`NotApprovedError` (naming the command that would record an approval)
    unless the newest decision on ``config_id`` approves it."""
    row = decision_in_force(engine, config_id)
    if row is None:
        raise NotApprovedError(config_id, "no promotion decision recorded for this config")
    if row.decision != "approved":
        failed = "; ".join(
            f"{f['criterion']}: {f['value']} (limit {f['limit']})" for f in row.failed
        )
        raise NotApprovedError(
            config_id,
            f"the newest decision ({row.promotion_id}, {row.decided_at:%Y-%m-%d %H:%M} UTC) "
            f"rejected it: {failed or 'see `liveexec promotions show`'}",
        )


def get_promotion(engine: Engine, promotion_id: str) -> Promotion:
    with Session(engine) as session:
        row: Promotion | None = (
            session.execute(select(Promotion).where(_PROMOTIONS.c.promotion_id == promotion_id))
            .scalars()
            .first()
        )
    if row is None:
        raise ConfigError(
            "promotions",
            [ConfigIssue(promotion_id, "no such promotion", "see `liveexec promotions list`")],
        )
    return row


@dataclass(frozen=True)
class EvidenceCheck:
    path: str
    recorded: str
    current: str | None  # None: the file is gone

    @property
    def ok(self) -> bool:
        return self.current == self.recorded


def verify_evidence(engine: Engine, promotion_id: str) -> list[EvidenceCheck]:
    """Re-hash each evidence file of a decision."""
    checks = []
    for item in get_promotion(engine, promotion_id).evidence:
        path = Path(item["path"])
        current = sha256_file(path) if path.is_file() else None
        checks.append(EvidenceCheck(str(path), item["sha256"], current))
    return checks
