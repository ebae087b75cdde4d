# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Promote
# Judges the config's backtest (and paper run, if given) against the `promotion` criteria of
# the config, and records the decision, with the evidence files and their sha256, in the
# hash-chained `promotions` table, signed with the approver's key (`$LIVEEXEC_SIGNING_KEY`).
# `liveexec live` refuses a config without a signed approval of exactly what would trade.

# %% tags=["parameters"]
config = "../liveexec/examples/ema_cross_btc_perp_bars.yaml"
overrides: list[str] = []
database_url = None
backtest_run_id = ""
paper_run_id = None
evidence: list[str] = []
approver = None
result_file = None

# %%
import json
from pathlib import Path

from liveexec import analysis, promotion

params = analysis.notebook_parameters(analysis.PromoteParameters, globals())
cfg = params.load()
print(f"config {cfg.config_id}, backtest {params.backtest_run_id}")

# %% [markdown]
# ## The criteria
# liveexec's defaults refuse a losing or untested strategy (paper run required, at least 30
# closed positions, Sharpe at least 0.5, no loss, drawdown at most 20 %, no denial or
# rejection). What this config loosens or disables is marked, and said again in the decision.

# %%
promotion.criteria_table(cfg.promotion)

# %% [markdown]
# ## The decision
# One line per criterion: its limit, the value measured on the runs, pass or fail.

# %%
decision = promotion.decide(
    cfg,
    params.backtest_run_id,
    paper_run_id=params.paper_run_id,
    evidence=params.evidence,
    approver=params.approver,
    database_url=params.database_url,
)
if params.result_file:
    Path(params.result_file).write_text(
        json.dumps({"promotion_id": decision.row.promotion_id, "decision": decision.row.decision})
    )
for warning in decision.warnings:
    print(f"warning: {warning}")
decision
