"""The objects every node is built from come from one function."""

from __future__ import annotations

import importlib

import liveexec
from liveexec.config import load_config
from liveexec.examples import EXAMPLES_DIR
from liveexec.nodes import build_components, build_run_config

BARS = EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"


def test_backtest_run_uses_the_shared_component_configs() -> None:
    cfg = load_config(BARS)
    components = build_components(cfg)
    engine = build_run_config(cfg).engine
    assert engine is not None
    assert engine.strategies == components.strategies
    assert engine.exec_algorithms == components.exec_algorithms
    assert engine.actors == components.actors
    assert components.strategies[0].strategy_path == cfg.strategies[0].path


def test_paper_and_live_configs_build_equal_components() -> None:
    backtest = build_components(load_config(BARS))
    paper = build_components(load_config(BARS, overrides=["mode=paper"]))
    assert paper == backtest


def test_top_level_api_is_lazy_and_complete() -> None:
    for name in liveexec.__all__:
        assert getattr(liveexec, name) is not None, name
    assert liveexec.load_config(BARS).config_id == load_config(BARS).config_id
    # The spelling: liveexec.backtest / paper / live are the runs, one call each, and
    # the package behind paper and live is liveexec.trading.
    # Importing the subpackage sets it on the package: it must not shadow a function.
    trading = importlib.import_module("liveexec.trading")
    assert liveexec.live is trading.live
    assert liveexec.paper is trading.paper
    assert callable(liveexec.live)
    assert callable(liveexec.backtest)


def test_catalog_credentials_stay_out_of_nautilus_configs() -> None:
    secret = "catalog-token-5511"
    cfg = load_config(
        BARS,
        overrides=[
            "data.catalog.path=gs://bucket/catalog",
            f"data.catalog.storage_options.token={secret}",
        ],
    )
    run = build_run_config(cfg)
    assert secret not in run.json().decode()
    assert secret not in repr(run)
    (data,) = run.data
    assert data.catalog_fs_protocol == "gs"
    assert data.catalog_fs_storage_options is None


def test_the_risk_section_reaches_nautilus_risk_engine_config() -> None:
    cfg = load_config(
        EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml",
        overrides=[
            "risk.bypass=true",
            "risk.max_order_submit_rate=7/00:00:02",
            "risk.max_order_modify_rate=3/00:00:01",
        ],
    )
    engine = build_run_config(cfg).engine
    assert engine is not None
    risk = engine.risk_engine
    assert (risk.bypass, risk.max_order_submit_rate, risk.max_order_modify_rate) == (
        True,
        "7/00:00:02",
        "3/00:00:01",
    )
