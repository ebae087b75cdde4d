"""The promotion record under attack, on SQLite and PostgreSQL: whoever can write to the
database, but holds no trusted approver's key, cannot make ``live`` start a config.

Each test does what an attacker with SQL access (or a careless hand) would do, then asks the
check ``liveexec live`` makes (``require_approved``) and ``liveexec promotions verify``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from liveexec.backtesting import backtest
from liveexec.cli import app
from liveexec.config import LiveexecConfig, parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.db._chain import GENESIS, row_hash
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.promotion import (
    NotApprovedError,
    binding,
    binding_changes,
    generate_key,
    list_promotions,
    promote,
    read_chain,
    require_approved,
    verify,
)
from liveexec.runs import RunResult
from tests.analysis.test_promotion import LOOSE

pytestmark = pytest.mark.slow
LIVEEXEC = str(Path(sys.executable).with_name("liveexec"))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("record") / "catalog"
    prepare_demo_catalog(parse_config(quoter(root)))
    return root


def quoter(catalog: Path, **changes: Any) -> dict[str, Any]:
    """The quoter example, its promotion criteria loosened so that its backtest is approved
    (``promotion=`` changes them further)."""
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["logging"] = {"level": "ERROR", "file_level": None}
    promotion = changes.pop("promotion", {})
    raw.update(changes)
    raw["promotion"] = {**LOOSE, **promotion}
    return raw


class Setup:
    """A config, its backtest and an engine on a migrated database."""

    def __init__(self, url: str, cfg: LiveexecConfig, run: RunResult, engine: Engine) -> None:
        self.url, self.cfg, self.run, self.engine = url, cfg, run, engine

    def approve(self, tmp_path: Path | None = None) -> Any:
        evidence = []
        if tmp_path is not None:
            page = tmp_path / "02_backtest.html"
            page.write_text("<html>the backtest</html>")
            evidence.append(page)
        decision = promote(self.engine, self.cfg, self.run.run_id, evidence=evidence)
        assert decision.approved
        assert [w for w in decision.warnings if not w.startswith("promotion.")] == []
        return decision

    def refused(self, cfg: LiveexecConfig | None = None) -> str:
        with pytest.raises(NotApprovedError) as refusal:
            require_approved(self.engine, cfg or self.cfg)
        return str(refusal.value)


@pytest.fixture
def setup(catalog: Path, db_url: str) -> Any:
    upgrade(db_url)
    cfg = parse_config(quoter(catalog))
    run = backtest(cfg, database_url=db_url)
    engine = create_db_engine(db_url, create=False)
    try:
        yield Setup(db_url, cfg, run, engine)
    finally:
        engine.dispose()


def insert_row(engine: Engine, **row: Any) -> None:
    """A row typed in with SQL, JSON columns as text (what a hand-made INSERT sends)."""
    columns = {
        "format": 1,
        "backtest_run_id": None,
        "paper_run_id": None,
        "binding": {},
        "metrics": {},
        "criteria": {},
        "failed": [],
        "evidence": [],
        "approver": "alice",
        "approver_key": None,
        "signature": None,
        "reason": None,
        "liveexec_version": "0.1.0",
        "decided_at": datetime(2099, 1, 1, tzinfo=UTC),
        **row,
    }
    names = ", ".join(columns)
    values = ", ".join(f":{name}" for name in columns)
    params = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in columns.items()}
    if engine.dialect.name == "sqlite":
        params["decided_at"] = columns["decided_at"].strftime("%Y-%m-%d %H:%M:%S.%f")
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO promotions ({names}) VALUES ({values})"), params)


def forged_approval(engine: Engine, config_id: str, **row: Any) -> dict[str, Any]:
    """An approval that extends the chain correctly: the format is public, anyone can hash."""
    chain = read_chain(engine)
    fields: dict[str, Any] = {
        "format": 1,
        "seq": len(chain) + 1,
        "prev_hash": chain[-1].row_hash if chain else GENESIS,
        "promotion_id": str(uuid.uuid4()),
        "config_id": config_id,
        "decision": "approved",
        "backtest_run_id": None,
        "paper_run_id": None,
        "binding": {},
        "metrics": {},
        "criteria": {},
        "failed": [],
        "evidence": [],
        "approver": "alice",
        "approver_key": None,
        "reason": None,
        "liveexec_version": "0.1.0",
        "decided_at": datetime(2099, 1, 1, tzinfo=UTC),
        **row,
    }
    fields["row_hash"] = row_hash(fields)
    return fields


def _sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


_TRIGGERS = "type = 'trigger' AND tbl_name = 'promotions'"


def _without_triggers(engine: Engine, *statements: str) -> None:
    """What someone who owns the table can do: switch the triggers off, write, switch on."""
    if engine.dialect.name == "postgresql":
        _sql(
            engine,
            "ALTER TABLE promotions DISABLE TRIGGER USER",
            *statements,
            "ALTER TABLE promotions ENABLE TRIGGER USER",
        )
    else:  # SQLite cannot disable a trigger: drop and recreate them, as the owner of the file can
        triggers = "FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'promotions'"
        with engine.begin() as connection:
            saved = connection.execute(text(f"SELECT name, sql {triggers}")).all()
            for name, _sql_text in saved:
                connection.execute(text(f"DROP TRIGGER {name}"))
            for statement in statements:
                connection.execute(text(statement))
            for _name, sql_text in saved:
                connection.execute(text(sql_text))


# --- forged rows ---------------------------------------------------------------------------


def test_an_approval_typed_in_by_hand_approves_nothing(setup: Setup, tmp_path: Path) -> None:
    cfg, engine = setup.cfg, setup.engine
    # The old attack, a bare row: the database refuses it (no place in the chain).
    with pytest.raises(DBAPIError):
        insert_row(
            engine, promotion_id=str(uuid.uuid4()), config_id=cfg.config_id, decision="approved"
        )
    # A row that extends the chain, unsigned: stored, but approves nothing.
    forged = forged_approval(engine, cfg.config_id)
    insert_row(engine, **forged)
    assert "is not signed by a trusted approver" in setup.refused()
    outcome = verify(engine, forged["promotion_id"])
    assert not outcome.ok
    cli = CliRunner(env={"COLUMNS": "250"})
    done = cli.invoke(app, ["promotions", "verify", forged["promotion_id"], "--db", setup.url])
    assert done.exit_code == 1, done.output
    assert "not signed by a trusted approver" in done.output


def test_an_approval_signed_by_an_untrusted_key_approves_nothing(
    setup: Setup, approver: str, tmp_path: Path
) -> None:
    cfg, engine = setup.cfg, setup.engine
    mallory = generate_key(tmp_path / "mallory.pem")
    forged = forged_approval(engine, cfg.config_id, approver_key=mallory.public_key)
    insert_row(engine, **forged, signature=mallory.sign(forged["row_hash"]))
    assert "does not list for 'alice'" in setup.refused()


def test_alices_key_named_on_a_row_mallory_signed_breaks_the_record(
    setup: Setup, approver: str, tmp_path: Path
) -> None:
    cfg, engine = setup.cfg, setup.engine
    alice_key = approver.split()[2]
    mallory = generate_key(tmp_path / "mallory.pem")
    forged = forged_approval(engine, cfg.config_id, approver_key=alice_key)
    insert_row(engine, **forged, signature=mallory.sign(forged["row_hash"]))
    assert "signature does not verify" in setup.refused()


def test_a_signed_approval_copied_to_the_head_does_not_verify(
    setup: Setup, approver: str, catalog: Path
) -> None:
    """Replay: alice approved, then rejected; her approval's signature pasted on a new row
    after the rejection (dated 2099) does not verify there: a signature pins its row's place."""
    cfg, engine = setup.cfg, setup.engine
    approved = setup.approve().row
    strict = parse_config(quoter(catalog, promotion={"min_trades": 50}))
    assert promote(engine, strict, setup.run.run_id).row.decision == "rejected"
    forged = forged_approval(
        engine,
        cfg.config_id,
        binding=approved.binding,
        backtest_run_id=approved.backtest_run_id,
        approver_key=approved.approver_key,
    )
    insert_row(engine, **forged, signature=approved.signature)
    message = setup.refused()
    assert "row 3" in message and "signature does not verify" in message
    assert "`liveexec promotions verify`" in message  # a broken record: someone must look


def test_the_newest_decision_is_chosen_by_the_record_not_by_its_date(
    setup: Setup, approver: str, catalog: Path
) -> None:
    setup.approve()
    strict = parse_config(quoter(catalog, promotion={"min_trades": 50}))
    promote(setup.engine, strict, setup.run.run_id)
    assert "rejected it" in setup.refused()
    rows = list_promotions(setup.engine)
    assert [row.decision for row in rows] == ["rejected", "approved"]
    assert [row.seq for row in rows] == [2, 1]


# --- rows changed, removed, the table emptied ----------------------------------------------


def test_truncate_update_and_delete_are_refused(setup: Setup, approver: str) -> None:
    setup.approve()
    statements = ["UPDATE promotions SET decision = 'approved'", "DELETE FROM promotions"]
    if setup.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE promotions")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(setup.engine, statement)
    require_approved(setup.engine, setup.cfg)


def test_a_row_rewritten_with_the_triggers_off_breaks_the_record(
    setup: Setup, approver: str, catalog: Path
) -> None:
    """An approval of another config rewritten to this one's id (what someone who owns the
    table can do): its hash no longer matches, and every config is refused until someone
    looks, since nothing in a broken record can be trusted."""
    other = parse_config(quoter(catalog, trader_id="TRADER-002"))
    assert other.config_id == setup.cfg.config_id  # trader ids do not change what trades
    setup.approve()
    _without_triggers(
        setup.engine, "UPDATE promotions SET config_id = 'feedfacefeedface' WHERE seq = 1"
    )
    assert "was changed after it was recorded" in setup.refused()
    done = CliRunner().invoke(app, ["promotions", "verify", "--db", setup.url])
    assert done.exit_code == 1 and "was changed after it was recorded" in done.output


def test_the_newest_rejection_deleted_is_caught_by_the_head_seen_and_the_exported_head(
    setup: Setup, approver: str, catalog: Path, tmp_path: Path
) -> None:
    """A chain cut back to an earlier head is a valid chain: what shows the cut is a head kept
    where the database's writers cannot reach (exported, and remembered by this machine)."""
    setup.approve()
    strict = parse_config(quoter(catalog, promotion={"min_trades": 50}))
    promote(setup.engine, strict, setup.run.run_id)
    head = tmp_path / "head.json"
    cli = CliRunner()
    exported = cli.invoke(app, ["promotions", "head", "--db", setup.url, "--out", str(head)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(head.read_text())["seq"] == 2
    _without_triggers(setup.engine, "DELETE FROM promotions WHERE seq = 2")
    assert "the record was cut back: row 2 was seen" in setup.refused()
    checked = cli.invoke(app, ["promotions", "verify", "--db", setup.url, "--head", str(head)])
    assert checked.exit_code == 1
    assert "the exported head is not in this record" in checked.output
    # On purpose (a restored backup): the operator takes the current head as seen.
    reset = cli.invoke(app, ["promotions", "verify", "--db", setup.url, "--reset-witness"])
    assert reset.exit_code == 0, reset.output
    require_approved(setup.engine, setup.cfg)


def test_the_table_emptied_and_refilled_is_not_the_record_seen(setup: Setup, approver: str) -> None:
    setup.approve()
    statement = "DELETE FROM promotions"
    _without_triggers(setup.engine, statement)
    forged = forged_approval(setup.engine, setup.cfg.config_id)
    insert_row(setup.engine, **forged)
    message = setup.refused()
    assert "the record was replaced" in message or "row 1 is not the row seen" in message


# --- what the approval binds ---------------------------------------------------------------


def test_evidence_changed_or_removed_refuses_live(
    setup: Setup, approver: str, tmp_path: Path
) -> None:
    setup.approve(tmp_path)
    page = tmp_path / "02_backtest.html"
    page.write_text("<html>edited</html>")
    assert f"evidence {page} of decision" in setup.refused()
    assert "was changed" in setup.refused()
    page.unlink()
    assert "is missing" in setup.refused()


def test_the_backtest_run_edited_after_the_decision_refuses_live(
    setup: Setup, approver: str
) -> None:
    setup.approve()
    _sql(
        setup.engine,
        f"UPDATE unified_orders SET filled_qty = '0' WHERE run_id = '{setup.run.run_id}' "
        "AND status = 'FILLED'",
    )
    assert f"its backtest run {setup.run.run_id} was changed after the decision" in setup.refused()
    with pytest.raises(DBAPIError):  # and the run cannot be removed while a decision cites it
        _sql(setup.engine, f"DELETE FROM runs WHERE run_id = '{setup.run.run_id}'")


def test_the_kill_switch_switched_off_is_not_what_was_approved(
    setup: Setup, approver: str, catalog: Path
) -> None:
    setup.approve()
    off = parse_config(quoter(catalog, risk={"kill_switch": {"enabled": False}}))
    assert off.config_id == setup.cfg.config_id  # the id alone would not tell
    assert "risk.kill_switch.enabled: True -> False" in setup.refused(off)
    require_approved(setup.engine, setup.cfg)


def test_the_strategy_code_edited_is_not_what_was_approved(
    catalog: Path, sqlite_url: str, approver: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A strategy in a package of the user's own: any file of the package edited (the
    strategy's helpers too) is named."""
    package = f"lx_strategies_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "src" / package
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "helpers.py").write_text("TICKS = 0\n")
    (root / "quoter.py").write_text(
        "from nautilus_trader.examples.strategies.simpler_quoter import (\n"
        "    SimpleQuoterStrategy,\n    SimpleQuoterStrategyConfig,\n)\n\n"
        f"from {package}.helpers import TICKS\n\n"
        "__all__ = ['TICKS', 'SimpleQuoterStrategy', 'SimpleQuoterStrategyConfig']\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    raw = quoter(catalog)
    raw["strategies"][0]["path"] = f"{package}.quoter:SimpleQuoterStrategy"
    raw["strategies"][0]["config_path"] = f"{package}.quoter:SimpleQuoterStrategyConfig"
    upgrade(sqlite_url)
    cfg = parse_config(raw)
    run = backtest(cfg, database_url=sqlite_url)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        assert promote(engine, cfg, run.run_id).approved
        assert set(binding(cfg)["sources"][f"package {package}"]) == {
            f"{package}/__init__.py",
            f"{package}/helpers.py",
            f"{package}/quoter.py",
        }
        require_approved(engine, cfg)
        (root / "helpers.py").write_text("TICKS = 1  # more aggressive\n")
        with pytest.raises(NotApprovedError, match=rf"{package}/helpers\.py changed"):
            require_approved(engine, cfg)
        (root / "helpers.py").write_text("TICKS = 0\n")
        (root / "extra.py").write_text("")
        with pytest.raises(NotApprovedError, match=rf"{package}/extra\.py added"):
            require_approved(engine, cfg)
    finally:
        engine.dispose()


def test_another_nautilus_trader_is_named(catalog: Path) -> None:
    cfg = parse_config(quoter(catalog))
    recorded = binding(cfg)
    elsewhere = {**recorded, "versions": {**recorded["versions"], "nautilus_trader": "1.232.0"}}
    [change] = binding_changes(recorded, elsewhere)
    assert (
        change == f"versions.nautilus_trader: {recorded['versions']['nautilus_trader']} -> 1.232.0"
    )
    assert binding_changes(recorded, binding(cfg)) == []


# --- who approves --------------------------------------------------------------------------


def test_the_approver_is_the_keys_owner_not_free_text(setup: Setup, approver: str) -> None:
    with pytest.raises(ConfigError, match="'bob' is not who key SHA256:"):
        promote(setup.engine, setup.cfg, setup.run.run_id, approver="bob")
    assert list_promotions(setup.engine) == []
    row = setup.approve().row
    assert row.approver == "alice"


def test_an_unsigned_approval_is_recorded_but_live_says_how_to_sign(setup: Setup) -> None:
    decision = promote(setup.engine, setup.cfg, setup.run.run_id, approver="carol")
    assert decision.approved and decision.row.signature is None
    assert any(warning.startswith("unsigned") for warning in decision.warnings)
    message = setup.refused()
    assert "is not signed by a trusted approver" in message
    assert "liveexec keys generate" in message


def test_a_removed_approver_no_longer_approves(setup: Setup, approver: str) -> None:
    setup.approve()
    trusted = Path(os.environ["LIVEEXEC_TRUSTED_APPROVERS"])
    trusted.write_text("# alice left\n")
    assert "does not list for 'alice'" in setup.refused()


def test_keys_and_trusted_file_that_others_can_touch_are_refused(
    setup: Setup, approver: str
) -> None:
    key = Path(os.environ["LIVEEXEC_SIGNING_KEY"])
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="permissions 0644 are too open"):
        promote(setup.engine, setup.cfg, setup.run.run_id)
    key.chmod(0o600)
    trusted = Path(os.environ["LIVEEXEC_TRUSTED_APPROVERS"])
    trusted.chmod(trusted.stat().st_mode | stat.S_IWOTH)
    with pytest.raises(ConfigError, match="others may write it"):
        require_approved(setup.engine, setup.cfg)
    assert list_promotions(setup.engine) == []


def test_concurrent_promotions_keep_one_chain(
    setup: Setup, approver: str, catalog: Path, tmp_path: Path
) -> None:
    """Five `liveexec promote` processes at once (operators and pipelines on one database):
    every decision lands, in one unbroken chain."""
    config = tmp_path / "quoter.yaml"
    config.write_text(yaml.safe_dump(quoter(catalog)))
    command = [LIVEEXEC, "promote", str(config), "--backtest", setup.run.run_id, "--db", setup.url]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(5)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    codes = [process.returncode for process in processes]
    assert codes == [0] * 5, (codes, outputs)
    outcome = verify(setup.engine)
    assert outcome.ok, outcome.problems
    assert [row.seq for row in outcome.report.rows] == list(range(1, 6))


def test_concurrent_promotions_in_one_process_keep_every_decision(
    setup: Setup, approver: str
) -> None:
    """Six threads promoting at once in one process (a notebook, a service). When SQLite was
    read through the ADBC driver's own copy of SQLite, that copy's reads dropped the POSIX locks
    of Python's sqlite3 in the same process: processes died of SIGBUS and a committed decision
    went missing (17 rows of 18)."""
    errors: list[BaseException] = []

    def decide() -> None:
        engine = create_db_engine(setup.url, create=False)
        try:
            for _ in range(3):
                promote(engine, setup.cfg, setup.run.run_id)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=decide) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    outcome = verify(setup.engine)
    assert outcome.ok, outcome.problems
    assert [row.seq for row in outcome.report.rows] == list(range(1, 19))


# --- the record on PostgreSQL, as an application role would reach it ------------------------


@pytest.mark.postgres
def test_an_application_role_can_only_append(postgres_url: str, approver: str) -> None:
    """The grants docs/ARCHITECTURE.md documents: INSERT and SELECT on promotions, the tables'
    owner another role. Such a role cannot update, delete, truncate, or switch triggers off."""
    upgrade(postgres_url)
    role = f"liveexec_app_{uuid.uuid4().hex[:8]}"
    owner = create_db_engine(postgres_url, create=False)
    url = make_url(postgres_url)
    try:
        _sql(
            owner,
            f"CREATE ROLE {role} LOGIN",
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT, INSERT ON promotions TO {role}",
            f"GRANT USAGE ON SEQUENCE promotions_id_seq TO {role}",
            f"GRANT SELECT ON runs, unified_orders, unified_positions, account_balances TO {role}",
        )
        app_engine = create_db_engine(
            url.set(username=role).render_as_string(hide_password=False), create=False
        )
        try:
            forged = forged_approval(app_engine, "feedfacefeedface")
            insert_row(app_engine, **forged)  # appending is what it may do
            for statement in (
                "UPDATE promotions SET decision = 'rejected'",
                "DELETE FROM promotions",
                "TRUNCATE promotions",
                "ALTER TABLE promotions DISABLE TRIGGER USER",
            ):
                with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
                    _sql(app_engine, statement)
            with pytest.raises(DBAPIError, match="hash chain"):  # out of place
                insert_row(app_engine, **{**forged, "promotion_id": str(uuid.uuid4())})
        finally:
            app_engine.dispose()
        outcome = verify(owner, forged["promotion_id"])
        assert outcome.report.intact  # a well-formed append...
        assert any(
            "not signed by a trusted approver" in p for p in outcome.problems
        )  # ...of nothing
    finally:
        _sql(owner, f"DROP OWNED BY {role}", f"DROP ROLE {role}")
        owner.dispose()


def test_rows_recorded_before_the_chain_are_chained_unsigned(
    db_url: str, catalog: Path, approver: str
) -> None:
    """Migration 0010 chains the decisions of 0005's table, unsigned: still in the audit
    trail, approving nothing (promote again, signed)."""
    upgrade(db_url, "0009")
    cfg = parse_config(quoter(catalog))
    engine = create_db_engine(db_url, create=False)
    try:
        for index, decision in enumerate(("rejected", "approved")):
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "INSERT INTO promotions (promotion_id, config_id, decision, metrics, "
                        "criteria, failed, evidence, approver, liveexec_version, decided_at) "
                        "VALUES (:p, :c, :d, :m, '{}', '[]', '[]', 'alice', '0.1.0', :t)"
                    ),
                    {
                        "p": f"legacy-{index}",
                        "c": cfg.config_id,
                        "d": decision,
                        "m": json.dumps({"backtest": {"sharpe": 1.25, "trades": 3, "pnl": 1e16}}),
                        "t": datetime(2026, 11, 30, 12, 0, index, 123456, tzinfo=UTC)
                        if engine.dialect.name == "postgresql"
                        else f"2026-11-30 12:00:0{index}.123456",
                    },
                )
        upgrade(db_url)
        outcome = verify(engine)
        assert outcome.ok, outcome.problems
        assert [row.seq for row in outcome.report.rows] == [1, 2]
        with pytest.raises(NotApprovedError, match="is not signed by a trusted approver"):
            require_approved(engine, cfg)
    finally:
        engine.dispose()


def test_the_cli_generates_a_key_signs_and_verifies(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CliRunner(env={"COLUMNS": "250"})
    key = tmp_path / "dana.pem"
    made = cli.invoke(app, ["keys", "generate", "dana", "--out", str(key)])
    assert made.exit_code == 0, made.output
    line = made.stdout.strip().splitlines()[-1]
    assert line.startswith("dana ed25519 ")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = cli.invoke(app, ["keys", "generate", "dana", "--out", str(key)])
    assert again.exit_code == 2 and "exists already" in again.output
    trusted = tmp_path / "trusted"
    trusted.write_text(line + "\n")
    monkeypatch.setenv("LIVEEXEC_TRUSTED_APPROVERS", str(trusted))
    config = tmp_path / "quoter.yaml"
    config.write_text(yaml.safe_dump(quoter(Path(setup.cfg.data.catalog.path))))
    done = cli.invoke(
        app,
        [
            "promote",
            str(config),
            "--backtest",
            setup.run.run_id,
            "--db",
            setup.url,
            "--key",
            str(key),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "dana, key SHA256:" in done.output
    [row] = list_promotions(setup.engine)
    checked = cli.invoke(
        app, ["promotions", "verify", row.promotion_id, "--db", setup.url, "--config", str(config)]
    )
    assert checked.exit_code == 0, checked.output
    assert "verified" in checked.output
    listed = cli.invoke(app, ["keys", "trusted"])
    assert listed.exit_code == 0 and "dana" in listed.output
