"""Stage 3 of validation: one preflight per mode, run before a run writes anything or connects,
and by ``liveexec config check``. Every run command calls :func:`preflight` (``backtest``,
``paper`` replayed or on venue data, ``live``): what it refuses, ``config check`` refuses.

Stage 1 (shape) and stage 2 (cross-field rules) are the config's own validation
(``liveexec.config``): a config that fails them never loads. This stage looks at the
environment: the components import and build, the catalog holds the instruments and the data
window, keys are not empty, the venues components name have an adapter. It reads the catalog's
instrument definitions and file intervals, never the market data itself. What needs the run's
database (the schema, the promotion gate, the trader id's lease, a run to resume) is checked by
the run once it opens it: :attr:`Preflight.database_checks` names those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from nautilus_trader.model.instruments import Instrument

from liveexec.config import LiveexecConfig, Mode
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.nodes._checks import (
    Checking,
    PreflightCheck,
    check_bar_types_streamed,
    check_catalog_exists,
    check_catalog_instruments_match,
    check_component_instruments_defined,
    check_component_venues_connected,
    check_components_build,
    check_components_import,
    check_contracts_trade_in_window,
    check_data_in_window,
    check_instruments_build,
    check_keys_not_empty,
    check_order_sizes,
    check_streams_in_catalog,
    check_venue_currencies,
    instrument_differences,
)

__all__ = [
    "DATABASE_CHECKS",
    "PREFLIGHT_CHECKS",
    "Preflight",
    "Stage",
    "check_mode",
    "instrument_differences",
    "preflight",
    "stage_of",
]

# What runs, told apart by what the preflight reads: a catalog (backtest, paper replay) or the
# venues' adapters (paper on a venue's market data, live).
Stage = Literal["backtest", "paper replay", "paper on venue data", "live"]

_COMPONENTS: tuple[PreflightCheck, ...] = (
    check_components_import,
    check_components_build,
    check_instruments_build,
    check_order_sizes,
    check_venue_currencies,
)
_CATALOG: tuple[PreflightCheck, ...] = (
    check_catalog_exists,
    check_catalog_instruments_match,
    check_streams_in_catalog,
    check_data_in_window,
    check_component_instruments_defined,
    check_bar_types_streamed,
    check_contracts_trade_in_window,
)
_ADAPTERS: tuple[PreflightCheck, ...] = (check_keys_not_empty, check_component_venues_connected)

# The checks each stage runs, in the order their issues are reported.
PREFLIGHT_CHECKS: Mapping[Stage, tuple[PreflightCheck, ...]] = {
    "backtest": (*_COMPONENTS, *_CATALOG),
    "paper replay": (*_COMPONENTS, *_CATALOG),
    "paper on venue data": (*_ADAPTERS, *_COMPONENTS),
    "live": (*_ADAPTERS, *_COMPONENTS),
}

_SCHEMA = "the database schema is at head (`liveexec db upgrade`)"
_LEASE = "no other paper or live node runs this trader id"
# Refusals the run makes once its database is open, after the preflight passed.
DATABASE_CHECKS: Mapping[Stage, tuple[str, ...]] = {
    "backtest": (_SCHEMA,),
    "paper replay": (
        _SCHEMA,
        "a died run of this trader id resumes only with the same config_id (else --fresh)",
        _LEASE,
    ),
    "paper on venue data": (_SCHEMA, _LEASE),
    "live": (
        _SCHEMA,
        "the promotion gate approves this config_id with a trusted signature "
        "(`liveexec promotions verify ID --config FILE`; `live --force` overrides, recorded)",
        _LEASE,
    ),
}

# The refusal of a config written for another mode, per command (the messages users know).
_RUN_AS: Mapping[Mode, str] = {
    "backtest": "run it with `liveexec backtest CONFIG --set mode=backtest` or set "
    "`mode: backtest`",
    "paper": "`liveexec paper CONFIG` runs it as mode: paper (in Python: "
    "`load_config_for(path, 'paper')`), or set `mode: paper`",
    "live": "set `mode: live` (or --set mode=live) and a `live` section with the venue's "
    "adapter; run it first with `liveexec backtest` and `liveexec paper`",
}


@dataclass(frozen=True)
class Preflight:
    """What the checks found that the run must apply: the config's instrument definitions that
    differ from the catalog's only in fields the market data does not depend on (with a note
    each), and the checks the run still makes once its database is open."""

    instrument_overrides: list[Instrument] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stage: Stage = "backtest"
    database_checks: tuple[str, ...] = ()


def stage_of(cfg: LiveexecConfig) -> Stage:
    if cfg.mode == "paper":
        return "paper on venue data" if cfg.paper.market_data == "venue" else "paper replay"
    return cfg.mode


def check_mode(cfg: LiveexecConfig, command: Mode, source: str = "<config>") -> None:
    """A command runs the mode it is for: ``liveexec paper`` a ``mode: paper`` config."""
    if cfg.mode != command:
        raise ConfigError(
            source,
            [ConfigIssue("mode", f"expected {command!r}, got {cfg.mode!r}", _RUN_AS[command])],
        )


def _catalog_overrides(run: Checking) -> tuple[list[Instrument], list[str]]:
    """The config's definitions the run puts in place of the catalog's, and a note for each
    field they change (the catalog cannot store a tick scheme: not worth a note)."""
    instruments, _ = run.built_instruments
    overrides: list[Instrument] = []
    notes: list[str] = []
    for configured in instruments.values():
        cataloged = run.in_catalog.get(configured.id.value)
        if cataloged is None:
            continue
        differences = instrument_differences(configured, cataloged)
        if not differences:
            continue
        overrides.append(configured)
        noted = [d for d in differences if d[0] != "tick_scheme_name"]
        if noted:
            notes.append(
                f"{configured.id}: the config's "
                + ", ".join(f"{name}={ours}" for name, _theirs, ours in noted)
                + " replace the catalog's "
                + ", ".join(f"{name}={theirs}" for name, theirs, _ours in noted)
            )
    return overrides, notes


def preflight(
    cfg: LiveexecConfig, source: str = "<config>", *, command: Mode | None = None
) -> Preflight:
    """Every check the run of ``cfg`` makes before it writes anything or connects, for its mode
    (and ``paper.market_data``); every issue is reported together as a :class:`ConfigError`.

    ``command``: the command about to run it (``liveexec backtest``, ``paper``, ``live``); a
    config of another mode is refused first, alone. None: ``config check``, the config's own
    mode. Returns what the run applies (see :class:`Preflight`).
    """
    if command is not None:
        check_mode(cfg, command, source)
    stage = stage_of(cfg)
    run = Checking(cfg)
    issues = [issue for check in PREFLIGHT_CHECKS[stage] for issue in check(run)]
    if issues:
        raise ConfigError(source, issues)
    replayed = stage in ("backtest", "paper replay")
    overrides, notes = _catalog_overrides(run) if replayed else ([], [])
    return Preflight(
        instrument_overrides=overrides,
        notes=notes,
        stage=stage,
        database_checks=DATABASE_CHECKS[stage],
    )
