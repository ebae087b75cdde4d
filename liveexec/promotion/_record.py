"""Promotion decisions in the hash-chained ``promotions`` table, and the check ``live`` makes.

A decision is recorded by :func:`promote` (the criteria evaluated, the row signed with the
approver's key when there is one) and checked by :func:`require_approved` before a live node
starts: the whole chain intact and containing the newest head this machine saw, the decision in
force on the config an approval signed by a trusted approver, what would trade equal to what
was approved (:mod:`liveexec.promotion._binding`), the runs it was judged on unchanged, and its
evidence files hashing as recorded.
"""

from __future__ import annotations

import getpass
import hashlib
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, select
from sqlmodel import Session

from liveexec._version import __version__
from liveexec.analysis import parity
from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.db import Promotion, create_db_engine, database_errors, require_current_schema
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.promotion._binding import binding, binding_changes, run_fingerprint
from liveexec.promotion._chain import (
    ChainReport,
    append_decision,
    check_witness,
    head_problem,
    new_promotion_id,
    now,
    read_chain,
    remember_head,
    verify_chain,
)
from liveexec.promotion._gate import Evaluation, evaluate
from liveexec.promotion._keys import (
    Signer,
    TrustedApprovers,
    fingerprint,
    load_signer,
    read_trusted_approvers,
)
from liveexec.runs import RunResult, load_run

__all__ = [
    "APPROVER_ENV",
    "Decision",
    "EvidenceCheck",
    "NotApprovedError",
    "Verification",
    "approver_name",
    "decide",
    "decision_in_force",
    "get_promotion",
    "list_promotions",
    "promote",
    "record_override",
    "require_approved",
    "sha256_file",
    "verify",
    "verify_evidence",
]

APPROVER_ENV = "LIVEEXEC_APPROVER"
_PROMOTIONS: Table = Promotion.__table__  # type: ignore[attr-defined]
_PROMOTE_HINT = (
    "record one with `liveexec promote CONFIG --backtest RUN_ID` (or run "
    "`liveexec pipeline CONFIG --out DIR`); `liveexec live --force` overrides and is recorded"
)
_TAMPER_HINT = (
    "someone changed the promotion record outside liveexec: see `liveexec promotions verify`; "
    "nothing in it can be trusted until it is explained"
)
_SIGN_HINT = (
    "an approval counts only when signed: create a key with `liveexec keys generate NAME`, "
    "list it in the trusted approvers file of the live host, and promote again with it"
)


class NotApprovedError(ConfigError):
    """A live run of a config without a valid approval in force; every reason is listed."""

    def __init__(self, config_id: str, why: str | Sequence[str], hint: str = _PROMOTE_HINT) -> None:
        reasons = [why] if isinstance(why, str) else list(why)
        issues = [ConfigIssue(f"config_id {config_id}", reason) for reason in reasons[:-1]]
        issues.append(ConfigIssue(f"config_id {config_id}", reasons[-1], hint))
        super().__init__("promotion", issues)
        self.config_id = config_id
        self.reasons = reasons


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


def _approver(
    approver: str | None, signer: Signer | None, trusted: TrustedApprovers
) -> tuple[str, list[str]]:
    """The approver's name, and warnings: a signing key speaks for the name the trusted
    approvers file gives it; a name that contradicts the file is refused."""
    if signer is None:
        return approver_name(approver), [
            "unsigned: no approver key (--key, $LIVEEXEC_SIGNING_KEY or "
            "~/.config/liveexec/approver.pem); `liveexec live` accepts signed approvals only"
        ]
    names = trusted.names_of(signer.public_key)
    wanted = approver or os.environ.get(APPROVER_ENV)
    if names and wanted and wanted not in names:
        raise ConfigError(
            "promotion",
            [
                ConfigIssue(
                    "--approver",
                    f"{wanted!r} is not who key {signer.fingerprint} is: {trusted.path} lists "
                    f"it for {', '.join(names)}",
                    "leave --approver out, or sign with that approver's own key",
                )
            ],
        )
    if names:
        return (wanted or names[0]), []
    name = approver_name(approver)
    return name, [
        f"key {signer.fingerprint} is not in the trusted approvers file {trusted.path}: "
        f"`liveexec live` will refuse this decision until that file lists "
        f"`{name} ed25519 {signer.public_key}`"
    ]


@dataclass(frozen=True)
class Decision:
    row: Promotion
    evaluation: Evaluation
    warnings: list[str] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return self.row.decision == "approved"

    def _repr_html_(self) -> str:
        row = self.row
        signed = (
            f"{row.approver}, key {fingerprint(row.approver_key)}"
            if row.approver_key
            else f"UNSIGNED (claimed: {row.approver})"
        )
        color = {"approved": "green", "rejected": "red"}.get(row.decision, "orange")
        lines = [
            ("promotion", f"{row.promotion_id} (row {row.seq} of the record)"),
            ("config", row.config_id),
            ("backtest run", row.backtest_run_id or ""),
            ("paper run", row.paper_run_id or ""),
            ("approver", signed),
            ("decided", f"{row.decided_at:%Y-%m-%d %H:%M:%S} UTC"),
            *(("evidence", f"{e['path']} sha256 {e['sha256']}") for e in row.evidence),
            *(("warning", warning) for warning in self.warnings),
        ]
        about = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in lines
        )
        marks = {"pass": "&#10003; pass", "fail": "&#10007; FAIL", "disabled": "disabled"}
        card = "".join(
            f"<tr><td>{html.escape(s.criterion)}</td><td>{html.escape(s.limit)}</td>"
            f"<td>{html.escape(s.value)}</td><td>{marks[s.outcome]}</td></tr>"
            for s in self.evaluation.scorecard
        )
        return (
            f"<h5>Promotion decision: <span style='color:{color}'>{row.decision}</span></h5>"
            "<table><thead><tr><th>criterion</th><th>limit</th><th>value</th><th>result</th>"
            f"</tr></thead><tbody>{card}</tbody></table>"
            f"<table><tbody>{about}</tbody></table>"
        )


def promote(
    engine: Engine,
    cfg: LiveexecConfig,
    backtest_run_id: str,
    *,
    paper_run_id: str | None = None,
    evidence: Sequence[str | Path] = (),
    approver: str | None = None,
    key: str | Path | None = None,
) -> Decision:
    """Evaluate ``cfg``'s promotion criteria on its runs and record the decision (approved or
    rejected, with every failed criterion), bound to what would trade (sources, versions, risk
    section) and to the runs' content, signed with the approver's key (``key``, else
    ``$LIVEEXEC_SIGNING_KEY``, else ``~/.config/liveexec/approver.pem``; none: unsigned, which
    ``live`` does not accept). Bad input (an unknown run, a run of another config, a missing
    evidence file or key) raises ``ConfigError`` before anything is written."""
    signer = load_signer(key)
    trusted = read_trusted_approvers()
    name, warnings = _approver(approver, signer, trusted)
    backtest = _run(engine, backtest_run_id, "backtest", cfg.config_id)
    paper = _run(engine, paper_run_id, "paper", cfg.config_id) if paper_run_id else None
    report = parity(engine, backtest_run_id, paper_run_id) if paper_run_id else None
    files = _evidence(evidence)
    bound = binding(cfg)
    bound["runs"] = {"backtest": run_fingerprint(backtest)}
    if paper is not None:
        bound["runs"]["paper"] = run_fingerprint(paper)
    evaluation = evaluate(cfg.promotion, backtest, paper, report)
    row = append_decision(
        engine,
        {
            "promotion_id": new_promotion_id(),
            "config_id": cfg.config_id,
            "backtest_run_id": backtest_run_id,
            "paper_run_id": paper_run_id,
            "decision": "approved" if evaluation.passed else "rejected",
            "binding": bound,
            "metrics": evaluation.metrics,
            "criteria": evaluation.criteria,
            "failed": [f.as_dict() for f in evaluation.failed],
            "evidence": files,
            "approver": name,
            "reason": None,
            "liveexec_version": __version__,
            "decided_at": now(),
        },
        signer,
    )
    remember_head(engine, verify_chain(read_chain(engine), trusted).head)
    return Decision(row, evaluation, [*evaluation.warnings, *warnings])


def decide(
    cfg: LiveexecConfig,
    backtest_run_id: str,
    *,
    paper_run_id: str | None = None,
    evidence: Sequence[str | Path] = (),
    approver: str | None = None,
    key: str | Path | None = None,
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
                key=key,
            )
    finally:
        engine.dispose()


def record_override(
    engine: Engine,
    cfg: LiveexecConfig,
    *,
    approver: str | None = None,
    reason: str | None = None,
    key: str | Path | None = None,
) -> Promotion:
    """Record a forced live start (``liveexec live --force``) of a config the gate has not
    approved, bound to what will trade and signed when a key is at hand. It is a decision of
    its own: it approves nothing for later runs."""
    signer = load_signer(key)
    name, _warnings = _approver(approver, signer, read_trusted_approvers())
    return append_decision(
        engine,
        {
            "promotion_id": new_promotion_id(),
            "config_id": cfg.config_id,
            "backtest_run_id": None,
            "paper_run_id": None,
            "decision": "forced",
            "binding": binding(cfg),
            "metrics": {},
            "criteria": {},
            "failed": [],
            "evidence": [],
            "approver": name,
            "reason": reason or "live run started with --force",
            "liveexec_version": __version__,
            "decided_at": now(),
        },
        signer,
    )


def list_promotions(engine: Engine, config_id: str | None = None) -> list[Promotion]:
    """Decisions, newest first in the record's order (those of ``config_id`` only, when given)."""
    query = select(Promotion).order_by(_PROMOTIONS.c.seq.desc())
    if config_id is not None:
        query = query.where(_PROMOTIONS.c.config_id == config_id)
    with Session(engine) as session:
        return list(session.execute(query).scalars().all())


def _in_force(rows: Sequence[Promotion], config_id: str) -> Promotion | None:
    for row in reversed(rows):
        if row.config_id == config_id and row.decision in ("approved", "rejected"):
            return row
    return None


def decision_in_force(engine: Engine, config_id: str) -> Promotion | None:
    """The newest approval or rejection of ``config_id`` in the record's order (forced starts
    approve nothing). Whether it counts is :func:`require_approved`'s question."""
    return _in_force(read_chain(engine), config_id)


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


def _check_evidence(row: Promotion) -> list[EvidenceCheck]:
    checks = []
    for item in row.evidence:
        path = Path(item["path"])
        current = sha256_file(path) if path.is_file() else None
        checks.append(EvidenceCheck(str(path), item["sha256"], current))
    return checks


def verify_evidence(engine: Engine, promotion_id: str) -> list[EvidenceCheck]:
    """Re-hash each evidence file of a decision."""
    return _check_evidence(get_promotion(engine, promotion_id))


def _run_problems(engine: Engine, row: Promotion) -> list[str]:
    """The runs an approval was judged on: still there, of its config, unchanged."""
    problems = []
    recorded: dict[str, str] = row.binding.get("runs", {})
    for role, run_id in (("backtest", row.backtest_run_id), ("paper", row.paper_run_id)):
        if run_id is None:
            continue
        try:
            result = load_run(engine, run_id)
        except KeyError:
            problems.append(f"its {role} run {run_id} is no longer in the database")
            continue
        if result.config_id != row.config_id or result.mode != role:
            problems.append(
                f"its {role} run {run_id} is now a {result.mode} run of config {result.config_id}"
            )
        elif recorded.get(role) != run_fingerprint(result):
            problems.append(
                f"its {role} run {run_id} was changed after the decision (its orders, "
                "positions or balances differ from what was judged)"
            )
    return problems


def _decision_problems(
    engine: Engine, row: Promotion, report: ChainReport, cfg: LiveexecConfig | None
) -> list[str]:
    """Why ``row`` does not let its config trade live (empty: it does)."""
    where = f"decision {row.promotion_id} (row {row.seq})"
    if row.decision != "approved":
        failed = "; ".join(
            f"{f['criterion']}: {f['value']} (limit {f['limit']})" for f in row.failed
        )
        return [
            f"the decision in force, {where}, {row.decision} it" + (f": {failed}" if failed else "")
        ]
    problems = []
    if row.promotion_id not in report.trusted_signer:
        problem = report.signature_problem.get(
            row.promotion_id, "is not signed by a trusted approver"
        )
        problems.append(f"the approval in force, {where} by {row.approver!r}, {problem}")
    if cfg is not None:
        changes = binding_changes(row.binding, binding(cfg))
        if changes:
            problems.append("what would trade is not what was approved: " + "; ".join(changes))
    problems.extend(f"the approval in force, {where}: {p}" for p in _run_problems(engine, row))
    for check in _check_evidence(row):
        if not check.ok:
            state = "is missing" if check.current is None else "was changed"
            problems.append(f"evidence {check.path} of {where} {state}")
    return problems


def _chain_problems(report: ChainReport, witnessed: str | None) -> list[str]:
    problems = [f"the promotion record is broken: {issue}" for issue in report.broken[:5]]
    if len(report.broken) > 5:
        problems.append(f"... and {len(report.broken) - 5} more broken rows")
    if witnessed is not None:
        problems.append(f"the promotion record is not the one this machine saw: {witnessed}")
    return problems


def require_approved(engine: Engine, cfg: LiveexecConfig) -> Promotion:
    """The approval in force on ``cfg``, after every check ``live`` makes; raises
    :class:`NotApprovedError` listing every reason it does not count."""
    report = verify_chain(read_chain(engine), read_trusted_approvers())
    witnessed = check_witness(engine, report.rows)
    problems = _chain_problems(report, witnessed)
    row = _in_force(report.rows, cfg.config_id)
    if row is None:
        problems.append("no promotion decision recorded for this config")
        raise NotApprovedError(
            cfg.config_id, problems, _TAMPER_HINT if len(problems) > 1 else _PROMOTE_HINT
        )
    problems.extend(_decision_problems(engine, row, report, cfg))
    if problems:
        unsigned = row.decision == "approved" and row.promotion_id not in report.trusted_signer
        hint = (
            _TAMPER_HINT
            if not report.intact or witnessed
            else _SIGN_HINT
            if unsigned
            else _PROMOTE_HINT
        )
        raise NotApprovedError(cfg.config_id, problems, hint)
    remember_head(engine, report.head)
    return row


@dataclass
class Verification:
    """``liveexec promotions verify``: the record, and one decision when asked."""

    report: ChainReport
    problems: list[str]
    decision: Promotion | None = None
    evidence: list[EvidenceCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    engine: Engine,
    promotion_id: str | None = None,
    *,
    cfg: LiveexecConfig | None = None,
    head: dict[str, Any] | None = None,
    reset_witness: bool = False,
) -> Verification:
    """The whole record checked (every hash, link and signature; the head this machine saw, or
    ``reset_witness`` to take the current one as seen; an exported ``head``), and, given a
    ``promotion_id``, whether that decision would let its config trade live (with ``cfg``: also
    whether ``cfg`` here is what it approved)."""
    report = verify_chain(read_chain(engine), read_trusted_approvers())
    if reset_witness:
        remember_head(engine, report.head, reset=True)
    problems = _chain_problems(report, check_witness(engine, report.rows))
    if head is not None and (missing := head_problem(report.rows, head)) is not None:
        problems.append(f"the exported head is not in this record: {missing}")
    found: Promotion | None = None
    checks: list[EvidenceCheck] = []
    if promotion_id is not None:
        found = get_promotion(engine, promotion_id)
        checks = _check_evidence(found)
        if cfg is not None and cfg.config_id != found.config_id:
            problems.append(f"the config is {cfg.config_id}, the decision is on {found.config_id}")
        elif found.decision == "approved":
            problems.extend(_decision_problems(engine, found, report, cfg))
            in_force = _in_force(report.rows, found.config_id)
            if in_force is not None and in_force.promotion_id != found.promotion_id:
                problems.append(
                    f"a later decision ({in_force.promotion_id}, row {in_force.seq}, "
                    f"{in_force.decision}) is in force on config {found.config_id}"
                )
        else:
            problems.extend(
                f"evidence {c.path} {'is missing' if c.current is None else 'was changed'}"
                for c in checks
                if not c.ok
            )
    if not problems:
        remember_head(engine, report.head)
    return Verification(report, problems, found, checks)
