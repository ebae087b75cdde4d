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
# # 03 · Paper validation
# Runs the same config in paper mode (NautilusTrader's `TradingNode` replaying the catalog,
# in a child process) and compares it with its backtest order by order: the parity report.

# %% tags=["parameters"]
config = "../liveexec/examples/ema_cross_btc_perp_bars.yaml"
overrides: list[str] = []
database_url = None
backtest_run_id = ""
result_file = None

# %%
import json
from pathlib import Path

from liveexec import analysis
from liveexec.config import load_config, resolve_database_url
from liveexec.trading import paper

params = analysis.notebook_parameters(analysis.PaperValidateParameters, globals())
cfg = params.load()
paper_cfg = load_config(params.config, overrides=[*params.overrides, "mode=paper"])
database_url = resolve_database_url(cfg, override=params.database_url)
print(f"config {cfg.config_id}, compared with backtest {params.backtest_run_id}")

# %%
result = paper(paper_cfg, database_url=database_url, subprocess=True)
paper_run_id = result.run_id
if params.result_file:
    Path(params.result_file).write_text(json.dumps({"run_id": paper_run_id}))
result

# %% [markdown]
# ## Parity with the backtest
# Orders paired by each strategy's own sequence; differences are paper minus backtest.

# %%
report = analysis.parity(database_url, params.backtest_run_id, paper_run_id)
report

# %%
analysis.show(analysis.plot_parity(report.orders, "paper - backtest, per order"))

# %%
report.orders.filter(~report.orders["matched"]).head(20)
