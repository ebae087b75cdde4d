"""Everything checked before a simulated run (backtest, paper replay) writes anything;
``liveexec config check`` runs it too.

It reads the catalog's instrument definitions and file intervals, never the market data itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import QUANTITY_MAX, Currency

from liveexec.config import LiveexecConfig, ProvidedInstrumentsSpec
from liveexec.data import open_catalog
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.nodes._components import check_importable
from liveexec.nodes._instruments import build_instrument
from liveexec.nodes._run_config import DATA_CLASSES

__all__ = ["Preflight", "instrument_differences", "preflight"]

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
_NOT_STORED = frozenset({"tick_scheme_name"})  # NautilusTrader's catalog drops it

# Strategy parameters by these names are order sizes: zero or negative is a typo, never a size.
_SIZE_SUFFIXES = ("size", "quantity", "qty")
_QUANTITY_MAX = Decimal(str(QUANTITY_MAX))  # depends on NautilusTrader's precision mode


@dataclass(frozen=True)
class Preflight:
    """What the checks found that the run must apply: the config's instrument definitions that
    differ from the catalog's only in fields the market data does not depend on."""

    instrument_overrides: list[Instrument] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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


def _currency_issues(cfg: LiveexecConfig) -> list[ConfigIssue]:
    """Venue currencies must be NautilusTrader currencies or those of a configured instrument
    (NautilusTrader would otherwise invent a currency for any code, a typo included)."""
    known = {
        code
        for spec in cfg.instruments
        if not isinstance(spec, ProvidedInstrumentsSpec)
        for name in ("base_currency", "quote_currency", "settlement_currency", "currency")
        if isinstance(code := getattr(spec, name, None), str)
    }
    issues: list[ConfigIssue] = []

    def check(location: str, code: str) -> None:
        if code in known:
            return
        try:
            found = Currency.from_str(code, strict=True)
        except ValueError:
            found = None
        if found is None:
            issues.append(
                ConfigIssue(
                    location,
                    f"unknown currency {code!r}",
                    "use an ISO 4217 or crypto code NautilusTrader knows, or one of the "
                    f"configured instruments' currencies {sorted(known)}",
                )
            )

    for index, venue in enumerate(cfg.venues):
        if venue.base_currency is not None:
            check(f"venues[{index}].base_currency", venue.base_currency)
        for position, balance in enumerate(venue.starting_balances):
            check(f"venues[{index}].starting_balances[{position}]", balance.split()[1])
    return issues


def _build_instruments(cfg: LiveexecConfig) -> tuple[dict[int, Instrument], list[ConfigIssue]]:
    """Each defined instrument built as the node will build it; NautilusTrader's refusals
    (a quantity beyond its range, an increment finer than the precision) name the instrument."""
    built: dict[int, Instrument] = {}
    issues: list[ConfigIssue] = []
    for index, spec in enumerate(cfg.instruments):
        if isinstance(spec, ProvidedInstrumentsSpec):
            continue
        try:
            built[index] = build_instrument(spec)
        except (ValueError, TypeError, OverflowError) as exc:
            issues.append(ConfigIssue(f"instruments[{index}]", f"NautilusTrader refuses it: {exc}"))
    return built, issues


def _size_issues(cfg: LiveexecConfig, instruments: dict[int, Instrument]) -> list[ConfigIssue]:
    """Order sizes in component parameters (by name: ``*size``, ``*quantity``, ``*qty``) must be
    positive; for a component naming one of the instruments, a quantity of it: at least one size
    increment, at most NautilusTrader's largest quantity."""
    by_id = {instrument.id.value: instrument for instrument in instruments.values()}
    issues: list[ConfigIssue] = []
    for section in ("strategies", "exec_algorithms", "actors"):
        for index, spec in enumerate(getattr(cfg, section)):
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
                    issues.append(ConfigIssue(location, f"{value!r} is not a number"))
                elif size <= 0:
                    issues.append(
                        ConfigIssue(location, f"{value!r}: an order size must be positive")
                    )
                elif instrument is None:
                    continue
                elif not size.is_finite() or size > _QUANTITY_MAX:
                    issues.append(
                        ConfigIssue(
                            location, f"{value!r} is beyond NautilusTrader's largest quantity"
                        )
                    )
                elif size < (increment := instrument.size_increment.as_decimal()):
                    issues.append(
                        ConfigIssue(
                            location,
                            f"{value!r} is below {instrument.id}'s size increment {increment}",
                        )
                    )
    return issues


def _window_ns(cfg: LiveexecConfig) -> tuple[int, int]:
    assert cfg.data is not None
    start = pd.Timestamp(cfg.data.start).value if cfg.data.start else -(2**63)
    end = pd.Timestamp(cfg.data.end).value if cfg.data.end else 2**63 - 1
    return start, end


def preflight(cfg: LiveexecConfig, source: str = "<config>") -> Preflight:
    """Every check a backtest or a paper replay makes before it writes anything; all issues are
    reported together.

    Components import and accept their parameters; order sizes are positive; venue currencies
    exist; the catalog exists and holds each instrument with the same market-data fields as the
    config; each stream has data in the ``data.start``/``data.end`` window (from the catalog's
    file intervals, without reading the data).
    """
    if cfg.data is None:
        raise ConfigError(source, [ConfigIssue("data", "a simulated run needs a 'data' section")])
    check_importable(cfg, source)
    defined, issues = _build_instruments(cfg)
    issues += _size_issues(cfg, defined) + _currency_issues(cfg)
    location = cfg.data.catalog.path
    if not cfg.data.catalog.is_remote and not Path(location).expanduser().is_dir():
        issues.append(
            ConfigIssue(
                "data.catalog.path",
                f"catalog {location} does not exist",
                "create it with `liveexec data import`",
            )
        )
        raise ConfigError(source, issues)
    catalog = open_catalog(cfg.data.catalog)
    in_catalog = {i.id.value: i for i in catalog.instruments()}
    overrides: list[Instrument] = []
    notes: list[str] = []
    for index, configured in defined.items():
        cataloged = in_catalog.get(configured.id.value)
        if cataloged is None:
            continue  # reported per stream below, where the data is missing
        differences = instrument_differences(configured, cataloged)
        structural = [d for d in differences if d[0] in STRUCTURAL_FIELDS]
        if structural:
            issues.append(
                ConfigIssue(
                    f"instruments[{index}]",
                    f"{configured.id} in the catalog was written with other market-data fields: "
                    + ", ".join(
                        f"{name} catalog={theirs!r} config={ours!r}"
                        for name, theirs, ours in structural
                    ),
                    "import the data again for this definition, or change the config back",
                )
            )
        elif differences:
            overrides.append(configured)
            # The catalog cannot store a tick scheme: not a difference worth a note.
            differences = [d for d in differences if d[0] not in _NOT_STORED]
            if not differences:
                continue
            notes.append(
                f"{configured.id}: the config's "
                + ", ".join(f"{name}={ours}" for name, _theirs, ours in differences)
                + " replace the catalog's "
                + ", ".join(f"{name}={theirs}" for name, theirs, _ours in differences)
            )
    start, end = _window_ns(cfg)
    for n, stream in enumerate(cfg.data.streams):
        if stream.instrument_id not in in_catalog:
            issues.append(
                ConfigIssue(
                    f"data.streams[{n}].instrument_id",
                    f"{stream.instrument_id} is not in the catalog",
                    f"catalog has {sorted(in_catalog)}",
                )
            )
            continue
        identifier = stream.bar_type if stream.kind == "bars" else stream.instrument_id
        intervals = catalog.get_intervals(DATA_CLASSES[stream.kind], identifier)
        what = stream.bar_type if stream.kind == "bars" else f"{stream.instrument_id} {stream.kind}"
        if not intervals:
            issues.append(
                ConfigIssue(f"data.streams[{n}]", f"no {what} in the catalog", "import it first")
            )
        elif not any(first <= end and last >= start for first, last in intervals):
            span = f"{pd.Timestamp(intervals[0][0])} to {pd.Timestamp(intervals[-1][1])}"
            issues.append(
                ConfigIssue(
                    "data.start" if cfg.data.start else "data.end",
                    f"no {what} between data.start and data.end (the catalog has {span})",
                )
            )
    if issues:
        raise ConfigError(source, issues)
    return Preflight(instrument_overrides=overrides, notes=notes)
