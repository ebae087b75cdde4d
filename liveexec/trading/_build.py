"""A liveexec config as a NautilusTrader ``TradingNodeConfig`` (paper and live).

The strategies, exec algorithms, actors, risk engine limits and logging come from the
backtest's own ``BacktestRunConfig`` for the same config (``liveexec.nodes.build_run_config``),
so the nodes cannot drift apart: the only differences are the clients (replay + paper venue, or
a venue's adapters) and the live timeouts.
"""

from __future__ import annotations

from typing import Any

from nautilus_trader.backtest.config import BacktestRunConfig
from nautilus_trader.config import LiveExecEngineConfig, TradingNodeConfig
from nautilus_trader.model.identifiers import TraderId

from liveexec.config import LiveexecConfig
from liveexec.nodes import build_run_config, live_risk_engine_config
from liveexec.trading._replay import REPLAY_CLIENT, replay_client_config
from liveexec.trading._sandbox import PaperExecClientConfig

__all__ = ["PAPER_TIMEOUT_POST_STOP_S", "build_paper_node_config"]

# How long the node lets the strategies' stop orders (closing positions, cancels) come back
# from the simulated venue: it answers at once, so a short wait does.
PAPER_TIMEOUT_POST_STOP_S = 0.5


def build_paper_node_config(cfg: LiveexecConfig) -> tuple[TradingNodeConfig, BacktestRunConfig]:
    """The paper node for ``cfg``, and the backtest run it mirrors (same components, venues,
    data queries, risk limits)."""
    run_config = build_run_config(cfg)
    engine = run_config.engine
    # build_run_config always sets both
    assert engine is not None
    assert engine.risk_engine is not None
    paper = cfg.paper
    exec_clients: dict[str, Any] = {
        venue.name: PaperExecClientConfig(venue=venue) for venue in run_config.venues
    }
    node_config = TradingNodeConfig(
        trader_id=TraderId(cfg.trader_id),
        strategies=engine.strategies,
        exec_algorithms=engine.exec_algorithms,
        actors=engine.actors,
        logging=engine.logging,
        risk_engine=live_risk_engine_config(engine.risk_engine),
        # The paper venue starts empty every run: nothing to reconcile.
        exec_engine=LiveExecEngineConfig(reconciliation=False),
        data_clients={
            REPLAY_CLIENT: replay_client_config(
                speed=paper.speed, min_gap_ms=paper.min_gap_ms, wait_for_node=paper.wait_for_node
            )
        },
        exec_clients=exec_clients,
        timeout_connection=10.0,
        timeout_portfolio=10.0,
        timeout_disconnection=2.0,
        timeout_post_stop=PAPER_TIMEOUT_POST_STOP_S,
    )
    return node_config, run_config
