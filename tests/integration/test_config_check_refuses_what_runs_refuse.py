"""`liveexec config check` refuses everything `backtest`, `paper` and `live` refuse before they
touch the database (issue 19 §3).

Each row is a config with one thing wrong, run through the real command (in-process with
typer's runner, against a migrated database) and through `config check` (with `--for` the
command, where the row is a config of another mode): both must exit 2 naming the same fields,
and the run command must not have written a run. The base configs of the rows pass both.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.config import FuturesContractSpec, parse_config
from liveexec.data import import_bars, open_catalog
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.nodes import build_instrument
from tests.live.test_live_adapters import CREDS, ENV, live_raw
from tests.live.test_paper_venue_data import venue_raw

runner = CliRunner(env={"COLUMNS": "200"})
Raw = dict[str, Any]
BINANCE = {"binance": {**CREDS, "account_type": "USDT_FUTURES", "environment": "testnet"}}
PERP = ["BTCUSDT-PERP.BINANCE"]
SPOT = ["BTCUSDT.BINANCE"]
BTC_BARS = "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL"
ESZ5 = {
    "kind": "futures_contract",
    "id": "ESZ5.XCME",
    "underlying": "ES",
    "asset_class": "INDEX",
    "currency": "USD",
    "price_precision": 2,
    "price_increment": "0.25",
    "multiplier": "50",
    "activation": "2024-06-21T13:30:00Z",
    "expiration": "2025-12-19T14:30:00Z",  # the catalog's bars run 13:01 to 15:00 that day
}
# The next contract, listed at 14:00 on ESZ5's last day: the same bars are inside its life only
# from then on.
ESH6 = {
    **ESZ5,
    "id": "ESH6.XCME",
    "activation": "2025-12-19T14:00:00Z",
    "expiration": "2026-03-20T13:30:00Z",
}
# An issue of a ConfigError as the commands print it: "  - location: message (hint)".
ISSUE_LINE = re.compile(r"^\s*- (\S+): ", re.MULTILINE)


@dataclass(frozen=True)
class Workspace:
    catalog: Path
    url: str
    folder: Path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    folder = tmp_path_factory.mktemp("refusals")
    catalog = folder / "catalog"
    prepare_demo_catalog(parse_config(backtest_raw(catalog)))
    bars = folder / "es.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    for minute in range(1, 121):  # 13:01 .. 15:00 on the contract's last day
        hour, rest = divmod(13 * 60 + minute, 60)
        price = 5990 + minute / 4
        lines.append(
            f"2025-12-19 {hour:02d}:{rest:02d}:00,{price},{price + 0.5},{price - 0.5},"
            f"{price + 0.25},{100 + minute}"
        )
    bars.write_text("\n".join(lines) + "\n")
    for spec in (ESZ5, ESH6):
        future = build_instrument(FuturesContractSpec.model_validate(spec))
        import_bars(
            open_catalog(str(catalog)), future, f"{spec['id']}-1-MINUTE-LAST-EXTERNAL", bars
        )
    url = f"sqlite:///{folder / 'liveexec.db'}"
    upgrade(url)
    return Workspace(catalog, url, folder)


def backtest_raw(catalog: Path) -> Raw:
    raw: Raw = yaml.safe_load((EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text())
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-03T06:00:00Z"
    raw["logging"] = {"level": "ERROR", "file_level": None}
    return raw


def paper_raw(catalog: Path) -> Raw:
    raw = backtest_raw(catalog)
    raw["mode"] = "paper"
    raw["paper"] = {"min_gap_ms": 0}
    return raw


def futures_raw(catalog: Path, spec: Raw = ESZ5) -> Raw:
    raw = backtest_raw(catalog)
    raw["venues"] = [
        {"name": "XCME", "account_type": "MARGIN", "starting_balances": ["1000000 USD"]}
    ]
    raw["instruments"] = [spec]
    bar_type = f"{spec['id']}-1-MINUTE-LAST-EXTERNAL"
    raw["strategies"][0]["config"].update(
        {"instrument_id": spec["id"], "bar_type": bar_type, "trade_size": "1"}
    )
    raw["data"] = {
        "catalog": {"path": str(catalog)},
        "streams": [{"kind": "bars", "instrument_id": spec["id"], "bar_type": bar_type}],
    }
    return raw


def live_base(_catalog: Path) -> Raw:
    raw = live_raw(BINANCE, PERP)
    raw["logging"] = {"level": "ERROR", "file_level": None}
    return raw


def venue_base(_catalog: Path) -> Raw:
    raw = venue_raw({"binance": {**CREDS}}, SPOT)
    raw["logging"] = {"level": "ERROR", "file_level": None}
    return raw


BASES: dict[str, Callable[[Path], Raw]] = {
    "backtest": backtest_raw,
    "paper": paper_raw,
    "futures": futures_raw,
    "live": live_base,
    "venue": venue_base,
}
COMMAND_OF_BASE = {
    "backtest": "backtest",
    "paper": "paper",
    "futures": "backtest",
    "live": "live",
    "venue": "paper",
}


@dataclass(frozen=True)
class Refusal:
    name: str
    base: str
    field: str  # the field both must name
    change: Callable[[Raw], None] = lambda raw: None
    command: str | None = None  # default: the base's command
    environ: dict[str, str] = field(default_factory=dict)


def _set(path: str, value: object) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        node: Any = raw
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        if isinstance(node, list) and int(last) == len(node):
            node.append(value)  # one more item
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


def _both(*changes: Callable[[Raw], None]) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        for one in changes:
            one(raw)

    return change


def _second_instrument(raw: Raw) -> None:
    eth = copy.deepcopy(raw["instruments"][0])
    eth.update({"id": "ETHUSDT-PERP.SIM", "raw_symbol": "ETHUSDT", "base_currency": "ETH"})
    raw["instruments"].append(eth)
    raw["data"]["streams"].append(
        {
            "kind": "bars",
            "instrument_id": "ETHUSDT-PERP.SIM",
            "bar_type": "ETHUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
        }
    )


def _strategy(key: str, value: object) -> Callable[[Raw], None]:
    return _set(f"strategies.0.config.{key}", value)


NOT_IMPORTABLE = _set("strategies.0.path", "nowhere.strategies:Missing")
# Quiet is configured by QuietSettings: without config_path, QuietConfig is looked for.
DERIVED_CONFIG_MISSING = _set(
    "strategies.0", {"path": "tests.unit.settings_strategy:Quiet", "config": {}}
)
UNSTREAMED_BARS = _strategy("bar_type", "BTCUSDT-PERP.SIM-5-MINUTE-LAST-EXTERNAL")
ON_OKX = _both(
    _strategy("instrument_id", "BTC-USDT-SWAP.OKX"),
    _strategy("bar_type", "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"),
)

REFUSALS = (
    # liveexec backtest (and paper replay: the same preflight)
    Refusal("backtest: a paper config", "paper", "mode", command="backtest"),
    Refusal("backtest: missing ${VAR}", "backtest", "data.catalog.path",
            _set("data.catalog.path", "${NO_SUCH_CATALOG}")),
    Refusal("backtest: missing catalog", "backtest", "data.catalog.path",
            _set("data.catalog.path", "/nonexistent/catalog")),
    Refusal("backtest: instrument not in catalog", "backtest", "data.streams[1].instrument_id",
            _second_instrument),
    Refusal("backtest: structural instrument mismatch", "backtest", "instruments[0]",
            _set("instruments.0.price_precision", 2)),
    Refusal("backtest: no data in the window", "backtest", "data.start",
            _both(_set("data.start", "2023-01-01T00:00:00Z"),
                  _set("data.end", "2023-01-02T00:00:00Z"))),
    Refusal("backtest: component not importable", "backtest", "strategies[0].path",
            NOT_IMPORTABLE),
    Refusal("backtest: no config_path, no config class of NautilusTrader's naming", "backtest",
            "strategies[0].config_path", DERIVED_CONFIG_MISSING),
    Refusal("backtest: bad component parameter", "backtest", "strategies[0].config",
            _strategy("fast_ema_period", "ten")),
    Refusal("backtest: component refuses its parameters when built", "backtest",
            "strategies[0].config", _strategy("fast_ema_period", 30)),
    Refusal("backtest: negative order size", "backtest", "strategies[0].config.trade_size",
            _strategy("trade_size", "-1")),
    Refusal("backtest: unknown venue currency", "backtest", "venues[0].starting_balances[0]",
            _both(_set("venues.0.base_currency", None),
                  _set("venues.0.starting_balances", ["100000 QQQX"]))),
    Refusal("backtest: instrument NautilusTrader refuses", "backtest", "instruments[0]",
            _set("instruments.0.max_quantity", "1e30")),
    Refusal("backtest: bar type no stream provides", "backtest", "strategies[0].config.bar_type",
            UNSTREAMED_BARS),
    Refusal("backtest: futures contract expiring in the window", "futures", "instruments[0]"),
    Refusal("backtest: component on an instrument the run lacks", "backtest",
            "strategies[0].config.instrument_id", _strategy("instrument_id", "ZZZ.SIM")),
    # paper runs a config of any mode as paper: a live config is refused for what paper lacks
    Refusal("paper: a live config, read as paper", "live", "data", command="paper"),
    Refusal("paper: a backtest config, read as paper", "backtest", "strategies[0].path",
            NOT_IMPORTABLE, command="paper"),
    Refusal("paper: missing catalog", "paper", "data.catalog.path",
            _set("data.catalog.path", "/nonexistent/catalog")),
    Refusal("paper: instrument not in catalog", "paper", "data.streams[1].instrument_id",
            _second_instrument),
    Refusal("paper: structural instrument mismatch", "paper", "instruments[0]",
            _set("instruments.0.price_precision", 2)),
    Refusal("paper: no data in the window", "paper", "data.start",
            _both(_set("data.start", "2023-01-01T00:00:00Z"),
                  _set("data.end", "2023-01-02T00:00:00Z"))),
    Refusal("paper: component not importable", "paper", "strategies[0].path", NOT_IMPORTABLE),
    Refusal("paper: negative order size", "paper", "strategies[0].config.trade_size",
            _strategy("trade_size", "-1")),
    Refusal("paper: bar type no stream provides", "paper", "strategies[0].config.bar_type",
            UNSTREAMED_BARS),
    Refusal("paper: component on an instrument the run lacks", "paper",
            "strategies[0].config.instrument_id", _strategy("instrument_id", "ZZZ.SIM")),
    # liveexec paper with paper.market_data: venue
    Refusal("venue data: empty key", "venue", "live.binance.api_key", environ={"LX_KEY": " "}),
    Refusal("venue data: component on a venue without adapter", "venue",
            "strategies[0].config.instrument_id", _strategy("instrument_id", "BTC-USDT-SWAP.OKX")),
    Refusal("venue data: a data section", "venue", "data",
            _set("data", {"catalog": {"path": "catalog"},
                          "streams": [{"kind": "quotes", "instrument_id": SPOT[0]}]})),
    Refusal("venue data: simulated venue no adapter serves", "venue", "venues[1].name",
            _both(_set("instruments.0.ids", [*SPOT, "BTCUSDT.SIM"]),
                  _set("venues.1", {"name": "SIM", "starting_balances": ["1 USDT"]}))),
    Refusal("venue data: component not importable", "venue", "strategies[0].path",
            NOT_IMPORTABLE),
    # liveexec live
    Refusal("live: a backtest config", "backtest", "mode", command="live"),
    Refusal("live: empty key", "live", "live.binance.api_secret", environ={"LX_SECRET": " "}),
    Refusal("live: missing ${VAR}", "live", "live.binance.api_secret",
            environ={"LX_SECRET": ""}),  # "" unsets it in the runner's environment
    Refusal("live: component on a venue without adapter", "live",
            "strategies[0].config.instrument_id", ON_OKX),
    Refusal("live: simulated venue", "live", "venues[0].name",
            _set("venues", [{"name": "SIM", "starting_balances": ["1000 USDT"]}])),
    Refusal("live: component not importable", "live", "strategies[0].path", NOT_IMPORTABLE),
    Refusal("live: negative order size", "live", "strategies[0].config.trade_size",
            _strategy("trade_size", "-1")),
)  # fmt: skip


def _write(workspace: Workspace, name: str, raw: Raw) -> Path:
    path = workspace.folder / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _environ(extra: dict[str, str]) -> dict[str, str | None]:
    merged: dict[str, str | None] = {"COLUMNS": "200", **ENV, **extra}
    return {key: (value if value != "" else None) for key, value in merged.items()}


def _run(command: str, path: Path, workspace: Workspace, environ: dict[str, str]) -> Any:
    args = [command, str(path), "--db", workspace.url]
    if command in ("backtest", "paper"):
        args.append("--no-progress")
    return runner.invoke(app, args, env=_environ(environ))


def _check(path: Path, command: str | None, environ: dict[str, str]) -> Any:
    args = ["config", "check", str(path)]
    if command is not None:
        args += ["--for", command]
    return runner.invoke(app, args, env=_environ(environ))


def _runs(url: str) -> int:
    engine = create_db_engine(url, create=False)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM runs")).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def no_run_written(workspace: Workspace) -> Iterator[None]:
    before = _runs(workspace.url)
    yield
    assert _runs(workspace.url) == before, "the command wrote a run: it refused too late"


@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.name for r in REFUSALS])
def test_config_check_refuses_what_the_command_refuses(
    workspace: Workspace, refusal: Refusal, no_run_written: None
) -> None:
    raw = BASES[refusal.base](workspace.catalog)
    refusal.change(raw)
    path = _write(workspace, refusal.name, raw)
    command = refusal.command or COMMAND_OF_BASE[refusal.base]
    ran = _run(command, path, workspace, refusal.environ)
    checked = _check(path, refusal.command, refusal.environ)
    assert ran.exit_code == 2, f"`liveexec {command}` did not refuse:\n{ran.output}"
    assert checked.exit_code == 2, f"`config check` did not refuse:\n{checked.output}"
    refused_by_run = ISSUE_LINE.findall(ran.output)
    assert refusal.field in refused_by_run, ran.output
    assert ISSUE_LINE.findall(checked.output) == refused_by_run, (ran.output, checked.output)


@pytest.mark.parametrize("base", sorted(BASES))
def test_the_base_configs_pass_config_check(workspace: Workspace, base: str) -> None:
    """Each row's refusal is its change's: unchanged, config check passes (the futures base
    only inside the contract's life)."""
    raw = BASES[base](workspace.catalog)
    if base == "futures":
        raw["data"]["end"] = "2025-12-19T14:00:00Z"
    checked = _check(_write(workspace, f"base {base}", raw), None, {})
    assert checked.exit_code == 0, checked.output
    assert "valid" in checked.output
    # What needs the run's database is named, not checked (config check opens none).
    assert "not checked here" in checked.output and "database schema is at head" in checked.output
    assert ("promotion gate approves" in checked.output) == (base == "live")


def test_the_expiry_refusal_names_the_contract_and_the_window(workspace: Workspace) -> None:
    checked = _check(_write(workspace, "expiry", futures_raw(workspace.catalog)), None, {})
    assert checked.exit_code == 2
    text_ = " ".join(checked.output.split())
    assert (
        "ESZ5.XCME trades from its activation 2024-06-21 13:30:00+00:00 to its expiration" in text_
    )
    assert "2025-12-19 14:30:00+00:00" in text_
    assert (
        "the run's data runs from 2025-12-19 13:01:00+00:00 to 2025-12-19 15:00:00+00:00" in text_
    )


def test_the_window_is_what_the_run_replays(workspace: Workspace) -> None:
    """The window is data.start/data.end narrowed to the catalog's data: a start before the
    activation with no data before it is fine; data before the activation is not."""
    raw = futures_raw(workspace.catalog, ESZ5)
    raw["data"]["start"] = "2024-01-01T00:00:00Z"  # before the activation, no data there
    raw["data"]["end"] = "2025-12-19T14:00:00Z"
    assert _check(_write(workspace, "before", raw), None, {}).exit_code == 0
    raw = futures_raw(workspace.catalog, ESH6)
    checked = _check(_write(workspace, "activation", raw), None, {})
    assert checked.exit_code == 2
    assert ISSUE_LINE.findall(checked.output) == ["instruments[0]"]
    assert "activation 2025-12-19 14:00:00+00:00" in " ".join(checked.output.split())
    raw["data"]["start"] = "2025-12-19T14:00:00Z"
    assert _check(_write(workspace, "activated", raw), None, {}).exit_code == 0


@pytest.mark.parametrize(
    ("bar_type", "stream", "fix"),
    [
        ("BTCUSDT-PERP.SIM-5-MINUTE-LAST-EXTERNAL", None, "add a bars stream with bar_type"),
        ("BTCUSDT-PERP.SIM-5-MINUTE-LAST-INTERNAL", None, "aggregates it from trades"),
        ("BTCUSDT-PERP.SIM-5-MINUTE-BID-INTERNAL", None, "aggregates it from quotes"),
        ("BTCUSDT-PERP.SIM-5-MINUTE-LAST-INTERNAL@1-MINUTE-EXTERNAL", "bars", None),
        ("BTCUSDT-PERP.SIM-5-MINUTE-LAST-INTERNAL@2-MINUTE-EXTERNAL", None, "bar_type"),
    ],
)
def test_bar_types_no_stream_provides(
    workspace: Workspace, bar_type: str, stream: str | None, fix: str | None
) -> None:
    """NautilusTrader's data engine builds INTERNAL bars from trades (LAST) or quotes (BID,
    ASK, MID) and a composite bar type from its source bars; EXTERNAL bars only come as
    such."""
    raw = backtest_raw(workspace.catalog)
    raw["strategies"][0]["config"]["bar_type"] = bar_type
    checked = _check(_write(workspace, f"bars {bar_type}", raw), None, {})
    if fix is None:
        assert checked.exit_code == 0, checked.output
        return
    assert checked.exit_code == 2, checked.output
    assert "- strategies[0].config.bar_type: no stream of data.streams provides" in checked.output
    assert fix in " ".join(checked.output.split())


def test_paper_runs_the_backtested_config_unchanged(workspace: Workspace) -> None:
    """`liveexec paper` on the file that was backtested (mode: backtest) runs it as paper and
    says so; `config check --for paper` says the same and passes. The run keeps the config_id."""
    raw = backtest_raw(workspace.catalog)
    raw["data"]["end"] = "2022-01-03T01:00:00Z"  # an hour of bars: a short replay
    path = _write(workspace, "backtested", raw)
    note = f"note: {path} says mode: backtest; `liveexec paper` runs it as mode: paper"
    checked = _check(path, "paper", {})
    assert checked.exit_code == 0, checked.output
    assert note in " ".join(checked.output.split())
    assert "paper replay" in checked.output
    env = {**os.environ, "COLUMNS": "400", "LIVEEXEC_HOME": str(workspace.folder / "home")}
    ran = subprocess.run(  # a node tears process-wide state down: not in the test's process
        [str(Path(sys.executable).with_name("liveexec")), "paper", str(path), "--db",
         workspace.url, "--no-progress"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert note in ran.stdout
    engine = create_db_engine(workspace.url, create=False)
    try:
        with engine.connect() as connection:
            mode, config_id = connection.execute(
                text("SELECT mode, config_id FROM runs ORDER BY started_at DESC LIMIT 1")
            ).one()
    finally:
        engine.dispose()
    assert (mode, config_id) == ("paper", parse_config(raw).config_id)
