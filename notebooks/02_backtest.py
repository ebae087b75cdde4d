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
# # 02 · Backtest
# Runs the config with NautilusTrader's `BacktestNode`, recorded in the database, then shows
# what the tables hold: statistics, equity and drawdown, trades on the price, the orders.
# NautilusTrader's own log lines are in the run's log file (see `logging` in the config).

# %% tags=["parameters"]
config = "../liveexec/examples/ema_cross_btc_perp_bars.yaml"
overrides: list[str] = []
database_url = None
orders_shown = 20
result_file = None
report_file = None

# %%
import json
from pathlib import Path

import liveexec
from liveexec import analysis

params = analysis.notebook_parameters(analysis.BacktestParameters, globals())
cfg = params.load()
assert cfg.data is not None
print(f"config {cfg.config_id}")

# %%
result = liveexec.backtest(cfg, database_url=params.database_url)
run_id = result.run_id
if params.result_file:
    Path(params.result_file).write_text(json.dumps({"run_id": run_id}))
if params.report_file:  # the run as one HTML page (liveexec report RUN --out FILE.html)
    analysis.report(result, params.report_file)
result

# %% [markdown]
# ## Equity and drawdown
# Realized equity in the account's currency, one step per closed position (the statistics'
# daily marked-to-market equity is `result.statistics.daily`, monthly returns
# `result.statistics.monthly`).

# %%
curve = analysis.drawdown(analysis.equity_curve(result))
analysis.show(analysis.plot_equity(curve, f"run {run_id}", result.currency or ""))

# %% [markdown]
# ## Trades on the price

# %%
for instrument_id in sorted({stream.instrument_id for stream in cfg.data.streams}):
    stream = next(s for s in cfg.data.streams if s.instrument_id == instrument_id)
    prices = analysis.load_prices(
        cfg.data.catalog, instrument_id, stream.kind, bar_type=stream.bar_type
    )
    fills = analysis.trades(result, instrument_id)
    analysis.show(analysis.plot_trades(prices, fills, f"{instrument_id}: {fills.height:,} fills"))

# %% [markdown]
# ## Orders

# %%
result.orders.select(
    "created_at",
    "client_order_id",
    "instrument_id",
    "side",
    "order_type",
    "quantity",
    "price",
    "avg_px",
    "filled_qty",
    "status",
).head(params.orders_shown)
