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
# # 01 · Explore the market data
# What the config's catalog holds, per instrument and data type (rows, span, gaps), and its
# prices and spreads. Everything shown is computed by `liveexec.analysis` from the catalog.

# %% tags=["parameters"]
config = "../liveexec/examples/ema_cross_btc_perp_bars.yaml"
overrides: list[str] = []
gap_factor = 10.0

# %%
from liveexec import analysis

params = analysis.notebook_parameters(analysis.ExploreParameters, globals())
cfg = params.load()
assert cfg.data is not None
print(f"config {cfg.config_id}: catalog {cfg.data.catalog.path}")

# %% [markdown]
# ## What the catalog holds
# A gap is a pause longer than `gap_factor` times the stream's median spacing (and 5 minutes).

# %%
summary = analysis.catalog_summary(cfg.data.catalog, gap_factor=params.gap_factor)
summary

# %% [markdown]
# ## The streams the config trades on

# %%
for stream in cfg.data.streams:
    prices = analysis.load_prices(
        cfg.data.catalog, stream.instrument_id, stream.kind, bar_type=stream.bar_type
    )
    title = f"{stream.bar_type or stream.instrument_id} ({stream.kind}, {prices.height:,} rows)"
    analysis.show(analysis.plot_prices(prices, title))
