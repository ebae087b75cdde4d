"""The promotion gate: a config may trade live once its backtest (and paper run) passed the
criteria of its ``promotion`` section and an approver signed the decision; every decision is
kept in the hash-chained, append-only ``promotions`` table.

    from liveexec.promotion import promote, require_approved
    decision = promote(engine, cfg, backtest_run_id, evidence=["02_backtest.ipynb"])
    require_approved(engine, cfg)    # raises NotApprovedError naming every reason
"""

from liveexec.promotion._binding import binding, binding_changes, run_fingerprint
from liveexec.promotion._chain import (
    ChainHead,
    ChainReport,
    read_chain,
    read_head_file,
    verify_chain,
)
from liveexec.promotion._gate import (
    Evaluation,
    FailedCriterion,
    Score,
    criteria_table,
    evaluate,
)
from liveexec.promotion._keys import (
    NAME_PATTERN as APPROVER_NAME_PATTERN,
)
from liveexec.promotion._keys import (
    PASSPHRASE_ENV,
    SIGNING_KEY_ENV,
    TRUSTED_APPROVERS_ENV,
    Signer,
    TrustedApprovers,
    default_key_path,
    fingerprint,
    generate_key,
    load_signer,
    read_trusted_approvers,
    trusted_approvers_path,
)
from liveexec.promotion._record import (
    APPROVER_ENV,
    Decision,
    EvidenceCheck,
    NotApprovedError,
    Verification,
    approver_name,
    decide,
    decision_in_force,
    get_promotion,
    list_promotions,
    promote,
    record_override,
    require_approved,
    sha256_file,
    verify,
    verify_evidence,
)

__all__ = [
    "APPROVER_ENV",
    "APPROVER_NAME_PATTERN",
    "PASSPHRASE_ENV",
    "SIGNING_KEY_ENV",
    "TRUSTED_APPROVERS_ENV",
    "ChainHead",
    "ChainReport",
    "Decision",
    "Evaluation",
    "EvidenceCheck",
    "FailedCriterion",
    "NotApprovedError",
    "Score",
    "Signer",
    "TrustedApprovers",
    "Verification",
    "approver_name",
    "binding",
    "binding_changes",
    "criteria_table",
    "decide",
    "decision_in_force",
    "default_key_path",
    "evaluate",
    "fingerprint",
    "generate_key",
    "get_promotion",
    "list_promotions",
    "load_signer",
    "promote",
    "read_chain",
    "read_head_file",
    "read_trusted_approvers",
    "record_override",
    "require_approved",
    "run_fingerprint",
    "sha256_file",
    "trusted_approvers_path",
    "verify",
    "verify_chain",
    "verify_evidence",
]
