"""Stage 2 of validation: the cross-field rules, a registry of small named checks per section.

Stage 1 is the shape (pydantic, each section's model); stage 3, what needs the environment
(components importing, the catalog, keys, adapters), is ``liveexec.nodes.preflight``. A config
that fails this stage never parses: every issue found is reported together, each naming its
field and the fix. Modelled on Freqtrade's ``configuration/config_validation.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from liveexec.config._base import Check
from liveexec.config._components import COMPONENT_CHECKS
from liveexec.config._data import DATA_CHECKS
from liveexec.config._instruments import INSTRUMENT_CHECKS
from liveexec.config._live import LIVE_CHECKS
from liveexec.config._paper import PAPER_CHECKS
from liveexec.config._risk import RISK_CHECKS
from liveexec.config._venues import VENUE_CHECKS
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = ["CROSS_FIELD_CHECKS", "SemanticIssues", "cross_field_issues"]

# Section -> its rules, in the order their issues are reported. A rule lives beside the model
# of the section its issue names (a live rule about `venues` names `venues[i]`, but is a rule of
# live mode: it lives with `live`).
CROSS_FIELD_CHECKS: Mapping[str, tuple[Check, ...]] = {
    "strategies": COMPONENT_CHECKS,
    "venues": VENUE_CHECKS,
    "instruments": INSTRUMENT_CHECKS,
    "data": DATA_CHECKS,
    "paper": PAPER_CHECKS,
    "risk": RISK_CHECKS,
    "live": LIVE_CHECKS,
}


def cross_field_issues(cfg: LiveexecConfig) -> list[ConfigIssue]:
    """Every issue of every cross-field rule (none: the config is consistent)."""
    return [
        issue for checks in CROSS_FIELD_CHECKS.values() for check in checks for issue in check(cfg)
    ]


# pydantic turns a ValueError into a validation error; users never see this class.
class SemanticIssues(ValueError):  # noqa: N818
    """Cross-field problems found after the shape validated; each has its own field path."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))
