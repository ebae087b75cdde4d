"""The promotion gate: a config may trade live once its backtest (and paper run) passed the
criteria of its ``promotion`` section; every decision is kept in the append-only
``promotions`` table.

    from liveexec.promotion import promote, require_approved
    decision = promote(engine, cfg, backtest_run_id, evidence=["02_backtest.ipynb"])
    require_approved(engine, cfg.config_id)    # raises NotApprovedError naming the command
"""

from liveexec.promotion._gate import Evaluation, FailedCriterion, evaluate
from liveexec.promotion._record import (
    APPROVER_ENV,
    Decision,
    EvidenceCheck,
    NotApprovedError,
    approver_name,
    decide,
    decision_in_force,
    get_promotion,
    list_promotions,
    promote,
    record_override,
    require_approved,
    sha256_file,
    verify_evidence,
)

__all__ = [
    "APPROVER_ENV",
    "Decision",
    "Evaluation",
    "EvidenceCheck",
    "FailedCriterion",
    "NotApprovedError",
    "approver_name",
    "decide",
    "decision_in_force",
    "evaluate",
    "get_promotion",
    "list_promotions",
    "promote",
    "record_override",
    "require_approved",
    "sha256_file",
    "verify_evidence",
]
