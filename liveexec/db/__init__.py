"""The shared order, event, position and run tables, their engines and their migrations."""

from liveexec.db._engine import (
    check_reachable,
    create_db_engine,
    database_errors,
    mask_url,
    normalize_url,
    probe_sqlite_file,
)
from liveexec.db._migrate import (
    current_revision,
    downgrade,
    head_revision,
    migrations_dir,
    require_current_schema,
    schema_drift,
    upgrade,
)
from liveexec.db._models import (
    MODES,
    ORDER_SIDES,
    ORDER_STATUSES,
    RISK_DECISIONS,
    RUN_STATUSES,
    AccountBalance,
    OrderEvent,
    Run,
    UnifiedOrder,
    UnifiedPosition,
    metadata,
)
from liveexec.db._types import MONEY_PRECISION, MONEY_SCALE, ExactDecimal, UTCDateTime

__all__ = [
    "MODES",
    "MONEY_PRECISION",
    "MONEY_SCALE",
    "ORDER_SIDES",
    "ORDER_STATUSES",
    "RISK_DECISIONS",
    "RUN_STATUSES",
    "AccountBalance",
    "ExactDecimal",
    "OrderEvent",
    "Run",
    "UTCDateTime",
    "UnifiedOrder",
    "UnifiedPosition",
    "check_reachable",
    "create_db_engine",
    "current_revision",
    "database_errors",
    "downgrade",
    "head_revision",
    "mask_url",
    "metadata",
    "migrations_dir",
    "normalize_url",
    "probe_sqlite_file",
    "require_current_schema",
    "schema_drift",
    "upgrade",
]
