"""``mode: live``: the config's ``live`` section as NautilusTrader's own Binance, Bybit and OKX
adapters in a ``TradingNodeConfig``.

The strategies, exec algorithms, actors, risk engine limits and logging are the backtest's
(``build_components``, ``build_risk_engine_config``); only the clients differ. Each configured
venue gets the adapter's data and execution client, loading exactly the config's instruments of
that venue.

Keys never enter NautilusTrader's config objects, which print every field in their repr and
JSON (and NautilusTrader logs its config): the clients' ``api_key``/``api_secret`` stay
``None``, and the adapters read the keys, as they do when none is given, from the environment
variables they define (``BINANCE_API_KEY``, ``BYBIT_TESTNET_API_SECRET``, ``OKX_API_PASSPHRASE``
...). :func:`adapter_credentials` maps the config's ``SecretStr`` values (from ``${VAR}``) onto
those names and :func:`credentials_in_environment` sets them for the node's lifetime only.

There is no internet on the machines liveexec is tested on: the tests build these nodes
completely (clients, factories, instrument provider configs) and never connect.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from nautilus_trader.adapters.binance import (
    BinanceAccountType,
    BinanceDataClientConfig,
    BinanceExecClientConfig,
    BinanceInstrumentProviderConfig,
    BinanceLiveDataClientFactory,
    BinanceLiveExecClientFactory,
)
from nautilus_trader.adapters.binance.common.enums import BinanceEnvironment
from nautilus_trader.adapters.bybit import (
    BybitDataClientConfig,
    BybitExecClientConfig,
    BybitLiveDataClientFactory,
    BybitLiveExecClientFactory,
)
from nautilus_trader.adapters.okx import (
    OKXDataClientConfig,
    OKXExecClientConfig,
    OKXLiveDataClientFactory,
    OKXLiveExecClientFactory,
)
from nautilus_trader.config import (
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    TradingNodeConfig,
)
from nautilus_trader.core.nautilus_pyo3 import (
    BybitEnvironment,
    BybitProductType,
    OKXEnvironment,
    OKXInstrumentType,
)
from nautilus_trader.model.identifiers import InstrumentId, TraderId
from pydantic import SecretStr

from liveexec.config import (
    LIVE_VENUES,
    BinanceLiveConfig,
    BybitLiveConfig,
    LiveexecConfig,
    OkxLiveConfig,
)
from liveexec.nodes import (
    build_components,
    build_risk_engine_config,
    live_risk_engine_config,
    nautilus_logging_config,
)

__all__ = [
    "LIVE_FACTORIES",
    "adapter_client_configs",
    "adapter_credentials",
    "add_data_factories",
    "add_live_factories",
    "build_live_node_config",
    "credentials_in_environment",
]

# Client name (the venue) -> (data client factory, execution client factory).
LIVE_FACTORIES: dict[str, tuple[Any, Any]] = {
    "BINANCE": (BinanceLiveDataClientFactory, BinanceLiveExecClientFactory),
    "BYBIT": (BybitLiveDataClientFactory, BybitLiveExecClientFactory),
    "OKX": (OKXLiveDataClientFactory, OKXLiveExecClientFactory),
}

_BINANCE_ENVIRONMENTS = {
    "live": BinanceEnvironment.LIVE,
    "testnet": BinanceEnvironment.TESTNET,
    "demo": BinanceEnvironment.DEMO,
}
_BYBIT_ENVIRONMENTS = {
    "live": BybitEnvironment.MAINNET,
    "testnet": BybitEnvironment.TESTNET,
    "demo": BybitEnvironment.DEMO,
}
_OKX_ENVIRONMENTS = {"live": OKXEnvironment.LIVE, "demo": OKXEnvironment.DEMO}


def _secret(value: SecretStr | None, field: str, required: bool) -> str:
    if value is None and not required:
        return ""
    if value is None:  # validated: live mode requires every credential
        raise ValueError(f"{field} is required in live mode")
    return value.get_secret_value()


def _binance_variables(section: BinanceLiveConfig) -> tuple[str, str]:
    """The variables NautilusTrader's Binance adapter reads the key and secret from
    (``adapters/binance/common/credentials.py``)."""
    if section.environment == "demo":
        return "BINANCE_DEMO_API_KEY", "BINANCE_DEMO_API_SECRET"
    if section.environment == "testnet":
        if section.account_type in ("SPOT", "MARGIN"):
            return "BINANCE_TESTNET_API_KEY", "BINANCE_TESTNET_API_SECRET"
        return "BINANCE_FUTURES_TESTNET_API_KEY", "BINANCE_FUTURES_TESTNET_API_SECRET"
    return "BINANCE_API_KEY", "BINANCE_API_SECRET"


def adapter_credentials(cfg: LiveexecConfig) -> dict[str, str]:
    """The environment each configured adapter reads its keys from: variable name -> secret.

    Live mode requires every key (validated). A paper run on a venue's market data uses only
    the data clients, which read public market data: the keys it is given are set, the ones it
    is not are left out (the adapters then run without them).

    Bybit's variables depend on the environment (``BYBIT_API_KEY``, ``BYBIT_TESTNET_API_KEY``,
    ``BYBIT_DEMO_API_KEY``, measured on NautilusTrader 1.231's Rust client); OKX uses
    ``OKX_API_KEY``, ``OKX_API_SECRET`` and ``OKX_API_PASSPHRASE`` for live and demo alike.
    """
    live = cfg.live
    required = cfg.mode == "live"
    out: dict[str, str] = {}
    if live.binance is not None:
        key, secret = _binance_variables(live.binance)
        out[key] = _secret(live.binance.api_key, "live.binance.api_key", required)
        out[secret] = _secret(live.binance.api_secret, "live.binance.api_secret", required)
    if live.bybit is not None:
        prefix = {"live": "BYBIT", "testnet": "BYBIT_TESTNET", "demo": "BYBIT_DEMO"}[
            live.bybit.environment
        ]
        out[f"{prefix}_API_KEY"] = _secret(live.bybit.api_key, "live.bybit.api_key", required)
        out[f"{prefix}_API_SECRET"] = _secret(
            live.bybit.api_secret, "live.bybit.api_secret", required
        )
    if live.okx is not None:
        out["OKX_API_KEY"] = _secret(live.okx.api_key, "live.okx.api_key", required)
        out["OKX_API_SECRET"] = _secret(live.okx.api_secret, "live.okx.api_secret", required)
        out["OKX_API_PASSPHRASE"] = _secret(
            live.okx.api_passphrase, "live.okx.api_passphrase", required
        )
    if cfg.mode != "live":
        return {name: value for name, value in out.items() if value}
    return out


@contextlib.contextmanager
def credentials_in_environment(
    credentials: Mapping[str, str],
    environ: Any = None,  # noqa: ANN401 (os.environ-like)
) -> Iterator[None]:
    """Set the adapters' key variables while the node is built and runs; restore the previous
    values (or their absence) afterwards."""
    env = os.environ if environ is None else environ
    previous = {name: env.get(name) for name in credentials}
    env.update(credentials)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value


def _instruments(cfg: LiveexecConfig, venue: str) -> InstrumentProviderConfig | None:
    ids = [iid for iid in cfg.instrument_ids if iid.rsplit(".", 1)[1] == venue]
    if not ids:
        return None
    return InstrumentProviderConfig(load_ids=frozenset(InstrumentId.from_str(i) for i in ids))


def _binance(cfg: LiveexecConfig, section: BinanceLiveConfig) -> tuple[Any, Any]:
    provider = _instruments(cfg, "BINANCE")
    binance_provider = BinanceInstrumentProviderConfig(
        load_ids=provider.load_ids if provider is not None else None
    )
    common: dict[str, Any] = {
        "account_type": BinanceAccountType[section.account_type],
        "environment": _BINANCE_ENVIRONMENTS[section.environment],
        "instrument_provider": binance_provider,
    }
    return BinanceDataClientConfig(**common), BinanceExecClientConfig(**common)


def _bybit(cfg: LiveexecConfig, section: BybitLiveConfig) -> tuple[Any, Any]:
    common: dict[str, Any] = {
        "product_types": tuple(getattr(BybitProductType, name) for name in section.product_types),
        "environment": _BYBIT_ENVIRONMENTS[section.environment],
        "instrument_provider": _instruments(cfg, "BYBIT") or InstrumentProviderConfig(),
    }
    return BybitDataClientConfig(**common), BybitExecClientConfig(**common)


def _okx(cfg: LiveexecConfig, section: OkxLiveConfig) -> tuple[Any, Any]:
    common: dict[str, Any] = {
        "instrument_types": tuple(
            getattr(OKXInstrumentType, name) for name in section.instrument_types
        ),
        "environment": _OKX_ENVIRONMENTS[section.environment],
        "instrument_provider": _instruments(cfg, "OKX") or InstrumentProviderConfig(),
    }
    return OKXDataClientConfig(**common), OKXExecClientConfig(**common)


def adapter_client_configs(cfg: LiveexecConfig) -> dict[str, tuple[Any, Any]]:
    """Per configured venue: the adapter's data and execution client configs (no key)."""
    live = cfg.live
    clients: dict[str, tuple[Any, Any]] = {}
    if live.binance is not None:
        clients[LIVE_VENUES["binance"]] = _binance(cfg, live.binance)
    if live.bybit is not None:
        clients[LIVE_VENUES["bybit"]] = _bybit(cfg, live.bybit)
    if live.okx is not None:
        clients[LIVE_VENUES["okx"]] = _okx(cfg, live.okx)
    return clients


def build_live_node_config(cfg: LiveexecConfig) -> TradingNodeConfig:
    """The live node for ``cfg`` (``mode: live``): the backtest's components and risk limits,
    and a data and an execution client per configured venue. No key is in it."""
    components = build_components(cfg)
    live = cfg.live
    data_clients: dict[str, Any] = {}
    exec_clients: dict[str, Any] = {}
    for venue, (data_client, exec_client) in adapter_client_configs(cfg).items():
        data_clients[venue], exec_clients[venue] = data_client, exec_client
    return TradingNodeConfig(
        trader_id=TraderId(cfg.trader_id),
        strategies=components.strategies,
        exec_algorithms=components.exec_algorithms,
        actors=components.actors,
        logging=nautilus_logging_config(cfg.logging),
        risk_engine=live_risk_engine_config(build_risk_engine_config(cfg.risk)),
        exec_engine=LiveExecEngineConfig(reconciliation=live.reconciliation),
        data_clients=data_clients,
        exec_clients=exec_clients,
        timeout_connection=live.timeout_connection_s,
        timeout_disconnection=5.0,
        timeout_post_stop=live.timeout_post_stop_s,
    )


def add_live_factories(node: Any, config: TradingNodeConfig) -> None:  # noqa: ANN401 (TradingNode)
    """Register the adapters' client factories for the node's configured clients."""
    add_data_factories(node, config)
    for venue in config.exec_clients:
        node.add_exec_client_factory(venue, LIVE_FACTORIES[venue][1])


def add_data_factories(node: Any, config: TradingNodeConfig) -> None:  # noqa: ANN401 (TradingNode)
    """Register the adapters' data client factories for the node's configured data clients."""
    for venue in config.data_clients:
        node.add_data_client_factory(venue, LIVE_FACTORIES[venue][0])
