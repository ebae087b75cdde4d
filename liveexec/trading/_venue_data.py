"""Paper trading on a real venue's market data (``mode: paper``, ``paper.market_data: venue``).

The node is the live node's with the execution swapped: the ``live`` section's adapters bring
only their *data* clients (quotes, trades, bars and the instruments their providers load), and
each of the config's simulated venues -- named after the adapter's venue, with its own fee and
fill models and starting balances -- is a :class:`PaperExecutionClient` that matches the orders
on the market data the data engine publishes for its venue. No order reaches the venue; the
keys are still needed by the adapters' data clients and reach only their environment variables.

It runs as a live node does (``liveexec.trading._live_run.run_until_stopped``: until a stop
request, Ctrl-C or SIGTERM), recorded with ``mode='paper'``, the lease taken and the risk gate
in place; the promotion gate does not apply. There is nothing to resume after a crash: a
replay restarts from its committed position, a venue's market has moved on. A dead run is
closed ``abandoned`` by the next start, which starts a new run.

No test connects to a venue (there is no internet where liveexec is tested): the tests build
the node completely, match on real quotes published on its message bus as a data client would,
and run ``liveexec paper`` up to the connection, which fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nautilus_trader.config import LiveExecEngineConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import TraderId

from liveexec.config import LiveexecConfig
from liveexec.nodes import (
    build_components,
    build_risk_engine_config,
    live_risk_engine_config,
    nautilus_logging_config,
    preflight,
    venue_config,
)
from liveexec.runs import RunResult
from liveexec.trading._adapters import adapter_client_configs, add_data_factories
from liveexec.trading._live_run import run_until_stopped
from liveexec.trading._sandbox import (
    PaperExecClientConfig,
    PaperExecutionClient,
    paper_exec_factory,
)

__all__ = ["build_venue_paper_node_config", "venue_paper_in_process"]


def build_venue_paper_node_config(cfg: LiveexecConfig) -> TradingNodeConfig:
    """The node: the backtest's components and risk limits, each configured adapter's data
    client, and a paper venue per simulated venue matching on that venue's published data."""
    components = build_components(cfg)
    clients = adapter_client_configs(cfg)
    return TradingNodeConfig(
        trader_id=TraderId(cfg.trader_id),
        strategies=components.strategies,
        exec_algorithms=components.exec_algorithms,
        actors=components.actors,
        logging=nautilus_logging_config(cfg.logging),
        risk_engine=live_risk_engine_config(build_risk_engine_config(cfg.risk)),
        # The paper venue starts empty every run: nothing to reconcile.
        exec_engine=LiveExecEngineConfig(reconciliation=False),
        data_clients={venue: data for venue, (data, _) in clients.items()},
        exec_clients={
            venue.name: PaperExecClientConfig(venue=venue_config(venue), market_data_on_bus=True)
            for venue in cfg.venues
        },
        timeout_connection=cfg.live.timeout_connection_s,
        timeout_portfolio=10.0,
        timeout_disconnection=5.0,
        timeout_post_stop=cfg.live.timeout_post_stop_s,
    )


def add_venue_paper_factories(
    node: TradingNode, config: TradingNodeConfig, venues: list[PaperExecutionClient]
) -> None:
    """The adapters' data client factories and the paper venues' (kept in ``venues``)."""
    add_data_factories(node, config)
    for name in config.exec_clients:
        node.add_exec_client_factory(name, paper_exec_factory(venues))


def venue_paper_in_process(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    on_node: Callable[[Any], None] | None = None,
) -> RunResult:
    """Run ``cfg`` (paper on venue data) on this thread, which must be the main thread, until
    it is asked to stop; the result is read from the database."""
    preflight(cfg, source, command="paper")
    node_config = build_venue_paper_node_config(cfg)
    venues: list[PaperExecutionClient] = []
    return run_until_stopped(
        cfg,
        node_config,
        lambda node: add_venue_paper_factories(node, node_config, venues),
        database_url=database_url,
        on_node=on_node,
    )
