"""The checks of stage 3 (``liveexec.nodes.preflight``): each a small named function of what one
preflight has read so far (:class:`Checking`), returning issues that name the field and the fix.

They read the environment, never the market data: components are imported and built, the
catalog's instrument definitions and file intervals are read, keys are looked at. Which checks
run for which mode is ``liveexec.nodes._preflight.PREFLIGHT_CHECKS``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from nautilus_trader.common.config import ActorFactory
from nautilus_trader.execution.config import ExecAlgorithmFactory
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import PriceType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import QUANTITY_MAX, Currency
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.trading.config import StrategyFactory

from liveexec.config import (
    LIVE_VENUES,
    DataStreamConfig,
    FuturesContractSpec,
    LiveexecConfig,
    ProvidedInstrumentsSpec,
    derived_config_path,
)
from liveexec.data import open_catalog
from liveexec.errors import ConfigIssue
from liveexec.nodes._components import build_components
from liveexec.nodes._instruments import build_instrument
from liveexec.nodes._run_config import DATA_CLASSES

__all__ = [
    "STRUCTURAL_FIELDS",
    "Checking",
    "PreflightCheck",
    "check_bar_types_streamed",
    "check_catalog_exists",
    "check_catalog_instruments_match",
    "check_component_instruments_defined",
    "check_component_venues_connected",
    "check_components_build",
    "check_components_import",
    "check_contracts_trade_in_window",
    "check_data_in_window",
    "check_instruments_build",
    "check_keys_not_empty",
    "check_order_sizes",
    "check_streams_in_catalog",
    "check_venue_currencies",
    "instrument_differences",
]

# Fields the catalog's market data was written with: a config that changes one of them no longer
# describes that data (prices of another precision, another currency), so it is refused. Every
# other field (fees, margins, limits, lot size, tick scheme, symbol) is taken from the config.
STRUCTURAL_FIELDS = frozenset(
    {
        "type",
        "base_currency",
        "quote_currency",
        "settlement_currency",
        "currency",
        "price_precision",
        "price_increment",
        "size_precision",
        "size_increment",
        "multiplier",
        "is_inverse",
        "is_quanto",
        "underlying",
        "asset_class",
        "activation_ns",
        "expiration_ns",
    }
)
_IGNORED_FIELDS = frozenset({"ts_event", "ts_init", "info"})

# Strategy parameters by these names are order sizes: zero or negative is a typo, never a size.
_SIZE_SUFFIXES = ("size", "quantity", "qty")
_QUANTITY_MAX = Decimal(str(QUANTITY_MAX))  # depends on NautilusTrader's precision mode

# Keys in a component's config that name instruments or bar types.
_INSTRUMENT_KEYS = ("instrument_id", "instrument_ids")
_BAR_TYPE_KEYS = ("bar_type", "bar_types")
_SECTIONS = ("strategies", "exec_algorithms", "actors")
# The hint when config_path is NautilusTrader's naming of path's config class (what a config
# without config_path gets) and no such class exists.
_NOT_DERIVABLE = (
    "without config_path, path + 'Config' is taken (NautilusTrader's naming); give config_path: "
    "'module:Class' of the component's config class"
)
_FACTORIES: dict[str, Callable[[Any], object]] = {
    "strategies": StrategyFactory.create,
    "exec_algorithms": ExecAlgorithmFactory.create,
    "actors": ActorFactory.create,
}


def _resolve(path: str) -> object:
    module_name, _, name = path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, name)


def _as_dict(instrument: Instrument) -> dict[str, Any]:
    data: dict[str, Any] = type(instrument).to_dict(instrument)
    return {k: v for k, v in data.items() if k not in _IGNORED_FIELDS}


def _same_value(a: object, b: object) -> bool:
    if a == b:
        return True
    try:  # '0.00018' and '0.000180', '1000.00 USD' and '1000 USD'
        left, right = str(a).split(), str(b).split()
        return len(left) == len(right) and all(
            Decimal(x) == Decimal(y) if x[:1].isdigit() or x[:1] == "-" else x == y
            for x, y in zip(left, right, strict=True)
        )
    except (InvalidOperation, TypeError):
        return False


def instrument_differences(
    configured: Instrument, cataloged: Instrument
) -> list[tuple[str, object, object]]:
    """``(field, catalog value, config value)`` for every field in which the two differ."""
    ours, theirs = _as_dict(configured), _as_dict(cataloged)
    return [
        (name, theirs.get(name), ours.get(name))
        for name in sorted(set(ours) | set(theirs))
        if not _same_value(ours.get(name), theirs.get(name))
    ]


def _named(
    path: str, key: str, value: object, keys: tuple[str, ...]
) -> Iterator[tuple[str, str, str]]:
    """(location, key, text) of every value a component config holds under one of ``keys``,
    however deep (a list of them, a nested config)."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _named(f"{path}.{child_key}", str(child_key), child, keys)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _named(f"{path}[{index}]", key, item, keys)
    elif isinstance(value, str) and key in keys:
        yield path, key, value


def _component_values(cfg: LiveexecConfig, keys: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    """(location, key, text) of what the components' configs hold under ``keys``, in order."""
    for section in _SECTIONS:
        for index, spec in enumerate(getattr(cfg, section)):
            yield from _named(f"{section}[{index}].config", "", spec.config, keys)


def _bar_type(text: str) -> BarType | None:
    try:
        return BarType.from_str(text)
    except ValueError:
        return None  # not a bar type: the component's own config parsing reports it


def _described(stream: DataStreamConfig) -> str:
    return stream.bar_type or f"{stream.instrument_id} {stream.kind}"


def _utc(ns: int) -> str:
    return str(pd.Timestamp(ns, tz="UTC"))


class Checking:
    """One preflight's view of the config and its environment, read once and shared by the
    checks (a check whose input another check refused reports nothing: the refusal is said
    once, by that check)."""

    def __init__(self, cfg: LiveexecConfig) -> None:
        self.cfg = cfg
        self._intervals: dict[int, list[tuple[int, int]]] = {}

    @cached_property
    def component_issues(self) -> dict[tuple[str, int], list[ConfigIssue]]:
        """Per component: why it does not import, or why its config class refuses its
        parameters (none: it may be built)."""
        found: dict[tuple[str, int], list[ConfigIssue]] = {}
        for section in _SECTIONS:
            for index, spec in enumerate(getattr(self.cfg, section)):
                issues = found.setdefault((section, index), [])
                for field in ("path", "config_path"):
                    path = getattr(spec, field)
                    try:
                        _resolve(path)
                    except (ImportError, AttributeError) as exc:
                        derived = field == "config_path" and path == derived_config_path(spec.path)
                        issues.append(
                            ConfigIssue(
                                f"{section}[{index}].{field}",
                                f"cannot import {path!r}: {exc}",
                                _NOT_DERIVABLE if derived else None,
                            )
                        )
                if issues:
                    continue
                config_cls = _resolve(spec.config_path)
                try:
                    config_cls.parse(json.dumps(spec.config))  # type: ignore[attr-defined]  # NautilusConfig
                except Exception as exc:
                    issues.append(
                        ConfigIssue(
                            f"{section}[{index}].config", f"rejected by {spec.config_path}: {exc}"
                        )
                    )
        return found

    @cached_property
    def built_instruments(self) -> tuple[dict[int, Instrument], list[ConfigIssue]]:
        """Each defined instrument built as the node will build it (by its index in
        ``instruments``), and NautilusTrader's refusals."""
        built: dict[int, Instrument] = {}
        issues: list[ConfigIssue] = []
        for index, spec in enumerate(self.cfg.instruments):
            if isinstance(spec, ProvidedInstrumentsSpec):
                continue
            try:
                built[index] = build_instrument(spec)
            except (ValueError, TypeError, OverflowError) as exc:
                issues.append(
                    ConfigIssue(f"instruments[{index}]", f"NautilusTrader refuses it: {exc}")
                )
        return built, issues

    @cached_property
    def catalog(self) -> ParquetDataCatalog | None:
        """The catalog, or None when there is none to read (no data section, or a local path
        that is not there: opening it would create it)."""
        data = self.cfg.data
        if data is None:
            return None
        if not data.catalog.is_remote and not Path(data.catalog.path).expanduser().is_dir():
            return None
        return open_catalog(data.catalog)

    @cached_property
    def in_catalog(self) -> dict[str, Instrument]:
        catalog = self.catalog
        return {} if catalog is None else {i.id.value: i for i in catalog.instruments()}

    def intervals(self, index: int) -> list[tuple[int, int]]:
        """The catalog's file intervals (first, last ``ts_init``) of ``data.streams[index]``."""
        if index not in self._intervals:
            assert self.cfg.data is not None and self.catalog is not None
            stream = self.cfg.data.streams[index]
            identifier = stream.bar_type if stream.kind == "bars" else stream.instrument_id
            self._intervals[index] = self.catalog.get_intervals(
                DATA_CLASSES[stream.kind], identifier
            )
        return self._intervals[index]

    @cached_property
    def window(self) -> tuple[int, int]:
        """``data.start`` and ``data.end`` in nanoseconds (open ends: the widest times)."""
        data = self.cfg.data
        assert data is not None
        start = pd.Timestamp(data.start).value if data.start else -(2**63)
        end = pd.Timestamp(data.end).value if data.end else 2**63 - 1
        return start, end

    def streams_with_data(self) -> Iterator[tuple[int, DataStreamConfig]]:
        """The streams the catalog holds, by index (the others are refused)."""
        if self.cfg.data is None or self.catalog is None:
            return
        for index, stream in enumerate(self.cfg.data.streams):
            if stream.instrument_id in self.in_catalog and self.intervals(index):
                yield index, stream


type PreflightCheck = Callable[[Checking], Iterable[ConfigIssue]]


# --- components ---------------------------------------------------------------------------------


def check_components_import(run: Checking) -> Iterator[ConfigIssue]:
    """Every strategy, algorithm and actor imports, and its config class accepts its
    parameters."""
    for issues in run.component_issues.values():
        yield from issues


def check_components_build(run: Checking) -> Iterator[ConfigIssue]:
    """Components check their parameters against each other when they are built (EMACross:
    fast period below slow): each is built once, as the node will build it, and discarded."""
    components = build_components(run.cfg)
    built: dict[str, list[Any]] = {
        "strategies": components.strategies,
        "exec_algorithms": components.exec_algorithms,
        "actors": components.actors,
    }
    for section, configs in built.items():
        for index, importable in enumerate(configs):
            if run.component_issues[(section, index)]:
                continue  # reported: it does not import or parse
            try:
                _FACTORIES[section](importable)
            except Exception as exc:  # whatever the component's own checks raise
                yield ConfigIssue(
                    f"{section}[{index}].config",
                    f"{importable.config_path.rsplit(':', 1)[-1]} refused it: {exc}",
                )


def check_order_sizes(run: Checking) -> Iterator[ConfigIssue]:
    """Order sizes in component parameters (by name: ``*size``, ``*quantity``, ``*qty``) are
    positive; for a component naming one of the defined instruments, a quantity of it: at least
    one size increment, at most NautilusTrader's largest quantity."""
    instruments, _ = run.built_instruments
    by_id = {instrument.id.value: instrument for instrument in instruments.values()}
    for section in _SECTIONS:
        for index, spec in enumerate(getattr(run.cfg, section)):
            instrument = by_id.get(str(spec.config.get("instrument_id")))
            for name, value in spec.config.items():
                if not name.lower().endswith(_SIZE_SUFFIXES) or isinstance(value, bool):
                    continue
                try:
                    size = Decimal(str(value))
                except (InvalidOperation, ValueError):
                    continue
                location = f"{section}[{index}].config.{name}"
                if size.is_nan():
                    yield ConfigIssue(location, f"{value!r} is not a number")
                elif size <= 0:
                    yield ConfigIssue(location, f"{value!r}: an order size must be positive")
                elif instrument is None:
                    continue
                elif not size.is_finite() or size > _QUANTITY_MAX:
                    yield ConfigIssue(
                        location, f"{value!r} is beyond NautilusTrader's largest quantity"
                    )
                elif size < (increment := instrument.size_increment.as_decimal()):
                    yield ConfigIssue(
                        location, f"{value!r} is below {instrument.id}'s size increment {increment}"
                    )


# --- instruments and venues ---------------------------------------------------------------------


def check_instruments_build(run: Checking) -> Iterator[ConfigIssue]:
    """NautilusTrader builds every defined instrument (a quantity beyond its range, an
    increment finer than the precision: refused, naming the instrument)."""
    _, issues = run.built_instruments
    yield from issues


def check_venue_currencies(run: Checking) -> Iterator[ConfigIssue]:
    """Venue currencies are NautilusTrader currencies or those of a configured instrument
    (NautilusTrader would otherwise invent a currency for any code, a typo included)."""
    known = {
        code
        for spec in run.cfg.instruments
        if not isinstance(spec, ProvidedInstrumentsSpec)
        for name in ("base_currency", "quote_currency", "settlement_currency", "currency")
        if isinstance(code := getattr(spec, name, None), str)
    }

    def unknown(location: str, code: str) -> ConfigIssue | None:
        if code in known:
            return None
        try:
            found = Currency.from_str(code, strict=True)
        except ValueError:
            found = None
        if found is not None:
            return None
        return ConfigIssue(
            location,
            f"unknown currency {code!r}",
            "use an ISO 4217 or crypto code NautilusTrader knows, or one of the configured "
            f"instruments' currencies {sorted(known)}",
        )

    for index, venue in enumerate(run.cfg.venues):
        places = [(f"venues[{index}].base_currency", venue.base_currency)]
        places.extend(
            (f"venues[{index}].starting_balances[{position}]", balance.split()[1])
            for position, balance in enumerate(venue.starting_balances)
        )
        for location, code in places:
            if code is not None and (issue := unknown(location, code)) is not None:
                yield issue


# --- the catalog (backtest, paper replay) -------------------------------------------------------


def check_catalog_exists(run: Checking) -> Iterator[ConfigIssue]:
    data = run.cfg.data
    if data is None:  # validation requires it: only a config copied past validation lacks it
        yield ConfigIssue("data", "a simulated run needs a 'data' section")
    elif run.catalog is None:
        yield ConfigIssue(
            "data.catalog.path",
            f"catalog {data.catalog.path} does not exist",
            "create it with `liveexec data import`",
        )


def check_catalog_instruments_match(run: Checking) -> Iterator[ConfigIssue]:
    """The catalog's copy of each defined instrument agrees in every field its market data was
    written with (the others are taken from the config: see ``instrument_overrides``)."""
    instruments, _ = run.built_instruments
    for index, configured in instruments.items():
        cataloged = run.in_catalog.get(configured.id.value)
        if cataloged is None:
            continue  # reported per stream, where the data is missing
        structural = [
            d for d in instrument_differences(configured, cataloged) if d[0] in STRUCTURAL_FIELDS
        ]
        if structural:
            yield ConfigIssue(
                f"instruments[{index}]",
                f"{configured.id} in the catalog was written with other market-data fields: "
                + ", ".join(
                    f"{name} catalog={theirs!r} config={ours!r}"
                    for name, theirs, ours in structural
                ),
                "import the data again for this definition, or change the config back",
            )


def check_streams_in_catalog(run: Checking) -> Iterator[ConfigIssue]:
    """The catalog holds each stream's instrument and some of its data."""
    if run.cfg.data is None or run.catalog is None:
        return
    for index, stream in enumerate(run.cfg.data.streams):
        if stream.instrument_id not in run.in_catalog:
            yield ConfigIssue(
                f"data.streams[{index}].instrument_id",
                f"{stream.instrument_id} is not in the catalog",
                f"catalog has {sorted(run.in_catalog)}",
            )
        elif not run.intervals(index):
            what = _described(stream)
            yield ConfigIssue(
                f"data.streams[{index}]", f"no {what} in the catalog", "import it first"
            )


def check_data_in_window(run: Checking) -> Iterator[ConfigIssue]:
    """Each stream has data between ``data.start`` and ``data.end`` (from the catalog's file
    intervals, without reading the data)."""
    data = run.cfg.data
    if data is None:
        return
    start, end = run.window
    for index, stream in run.streams_with_data():
        intervals = run.intervals(index)
        if not any(first <= end and last >= start for first, last in intervals):
            what = _described(stream)
            span = f"{_utc(intervals[0][0])} to {_utc(intervals[-1][1])}"
            yield ConfigIssue(
                "data.start" if data.start else "data.end",
                f"no {what} between data.start and data.end (the catalog has {span})",
                "move data.start and data.end into the catalog's span, or import the data",
            )


def _streamed(bar_type: BarType, streams: tuple[DataStreamConfig, ...]) -> str | None:
    """Why no stream of the run provides ``bar_type`` (None: one does). NautilusTrader's data
    engine aggregates an INTERNAL bar type from the instrument's trades (LAST) or quotes (BID,
    ASK, MID), a composite one (``...-INTERNAL@1-MINUTE-EXTERNAL``) from its source bars; an
    EXTERNAL one only comes as such."""
    instrument = str(bar_type.instrument_id)
    if bar_type.is_composite():
        return _streamed(bar_type.composite(), streams)
    if bar_type.is_externally_aggregated():
        if any(_bar_type(s.bar_type) == bar_type for s in streams if s.bar_type is not None):
            return None
        return f"add a bars stream with bar_type {bar_type} (`liveexec data import --bars`)"
    kind = "trades" if bar_type.spec.price_type == PriceType.LAST else "quotes"
    if any(s.kind == kind and s.instrument_id == instrument for s in streams):
        return None
    return f"NautilusTrader aggregates it from {kind}: add a {kind} stream of {instrument}"


def check_component_instruments_defined(run: Checking) -> Iterator[ConfigIssue]:
    """Every instrument id a component names is an instrument of the run: a simulated node
    holds only those, and a strategy on another one logs that it cannot find it and trades
    nothing (the run ends ``completed``)."""
    known = set(run.cfg.instrument_ids)
    for location, _key, text in _component_values(run.cfg, _INSTRUMENT_KEYS):
        try:
            instrument_id = InstrumentId.from_str(text).value
        except ValueError:
            continue  # not an id: the component's own config parsing reports it
        if instrument_id not in known:
            yield ConfigIssue(
                location,
                f"{instrument_id} is not an instrument of this run (instruments: {sorted(known)})",
                "name one of them, or add it under 'instruments' with its data under data.streams",
            )


def check_bar_types_streamed(run: Checking) -> Iterator[ConfigIssue]:
    """Every bar type a component names comes from a stream: a strategy subscribed to bars no
    stream provides never sees one, and the run would end ``completed`` with no order."""
    data = run.cfg.data
    if data is None:
        return
    provided = sorted(s.bar_type for s in data.streams if s.bar_type is not None)
    for location, _key, text in _component_values(run.cfg, _BAR_TYPE_KEYS):
        bar_type = _bar_type(text)
        if bar_type is None:
            continue
        fix = _streamed(bar_type, data.streams)
        if fix is not None:
            yield ConfigIssue(
                location,
                f"no stream of data.streams provides {bar_type} (streamed bar types: "
                f"{provided or 'none'}): the component would never get a bar",
                f"{fix}, or name a streamed bar type",
            )


def check_contracts_trade_in_window(run: Checking) -> Iterator[ConfigIssue]:
    """A dated contract is tradable for the whole data window. NautilusTrader 1.231's simulated
    exchange rejects orders before the contract's activation and after its expiration, and at
    expiration cancels its open orders and closes its positions at market (OrderMatchingEngine:
    ``process_order``, ``check_instrument_expiration``), so a window reaching past either end
    is a different run than the strategy's."""
    data = run.cfg.data
    if data is None:
        return
    start, end = run.window
    for index, spec in enumerate(run.cfg.instruments):
        if not isinstance(spec, FuturesContractSpec):
            continue
        spans = [
            (first, last)
            for n, stream in run.streams_with_data()
            if stream.instrument_id == spec.id
            for first, last in run.intervals(n)
            if first <= end and last >= start
        ]
        if not spans:
            continue  # no data: reported per stream, or nothing of it is replayed
        first = max(start, min(first for first, _ in spans))
        last = min(end, max(last for _, last in spans))
        activation = pd.Timestamp(spec.activation).value
        expiration = pd.Timestamp(spec.expiration).value
        if first < activation or last >= expiration:
            yield ConfigIssue(
                f"instruments[{index}]",
                f"{spec.id} trades from its activation {_utc(activation)} to its expiration "
                f"{_utc(expiration)}, but the run's data runs from {_utc(first)} to "
                f"{_utc(last)}: NautilusTrader rejects orders outside that life and, at "
                "expiration, cancels the open orders and closes the positions at market",
                "set data.start and data.end inside the contract's life, or trade the "
                "contract that is live in the window",
            )


# --- venue adapters (live, paper on venue data) -------------------------------------------------


def check_keys_not_empty(run: Checking) -> Iterator[ConfigIssue]:
    """Every key given in the ``live`` section has a value (an empty ``${VAR}`` is a key the
    venue refuses at connection, after the run row is written)."""
    for name, section in run.cfg.live.configured().items():
        for field in ("api_key", "api_secret", "api_passphrase"):
            secret = getattr(section, field, None)
            if secret is not None and not secret.get_secret_value().strip():
                yield ConfigIssue(
                    f"live.{name}.{field}",
                    "is empty",
                    "export the variable its ${VAR} names with the venue's key",
                )


def check_component_venues_connected(run: Checking) -> Iterator[ConfigIssue]:
    """Every instrument id or bar type a component names is at a venue a configured adapter
    connects (its data would never come)."""
    what = "live trading" if run.cfg.mode == "live" else "paper trading on venue data"
    connected = {LIVE_VENUES[name] for name in run.cfg.live.configured()}
    for location, key, text in _component_values(run.cfg, (*_INSTRUMENT_KEYS, *_BAR_TYPE_KEYS)):
        try:
            if key in _BAR_TYPE_KEYS:
                venue = BarType.from_str(text).instrument_id.venue.value
            else:
                venue = InstrumentId.from_str(text).venue.value
        except ValueError:
            continue  # not an id: the component's own config parsing reports it
        if venue not in connected:
            yield ConfigIssue(
                location,
                f"venue {venue!r} is not configured for {what} (configured: "
                f"{sorted(connected) or 'none'})",
                "add its section under `live` (binance -> BINANCE, bybit -> BYBIT, okx -> "
                "OKX) or use an instrument of a configured venue",
            )
