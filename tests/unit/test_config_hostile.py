"""Config input that cannot hurt: every hostile file or value is one ConfigError, fast."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import yaml

from liveexec.config import load_config, parse_config
from liveexec.config._safe import MAX_CONFIG_BYTES
from liveexec.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "liveexec/examples/ema_cross_btc_perp_bars.yaml"
SECRET = "s3cr3t-value-8841"


def refused(path: Path, *, within_s: float = 5.0) -> ConfigError:
    """Load ``path`` in a thread; it must raise ConfigError within ``within_s`` seconds."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            load_config(path)
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(within_s)
    assert not thread.is_alive(), f"{path.name} still loading after {within_s} s"
    assert time.monotonic() - started < within_s
    (exc,) = outcome
    assert isinstance(exc, ConfigError), f"expected ConfigError, got {exc!r}"
    return exc


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    assert "not a regular file" in str(refused(fifo))


def test_device_and_directory_are_refused(tmp_path: Path) -> None:
    device = tmp_path / "zero.yaml"
    device.symlink_to("/dev/zero")
    assert "not a regular file" in str(refused(device))
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert "directory" in str(refused(folder))


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * MAX_CONFIG_BYTES + "\n")
    assert "at most" in str(refused(big))


def test_non_utf8_is_refused_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"trader_id: ABC-1\nnote: caf\xe9\n")
    message = str(refused(path))
    assert "not UTF-8" in message and "line 2" in message


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert len(path.read_bytes()) < 1000
    assert "aliases are expanded" in str(refused(path, within_s=5.0))


def test_self_referencing_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("strategies: &loop [*loop]\n")
    assert "nested deeper" in str(refused(path))


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_deep_nesting_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deep.{suffix}"
    depth = 50_000 if suffix == "json" else 2_000
    path.write_text('{"a": ' + "[" * depth + "]" * depth + "}")
    refused(path)


def test_huge_number_literal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "digits.yaml"
    path.write_text(f"trader_id: ABC-1\nventures: {'9' * 5000}\n")
    refused(path)


def test_duplicate_yaml_keys_name_the_key_and_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("trader_id: ABC-1\nmode: backtest\ntrader_id: XYZ-2\n")
    message = str(refused(path))
    assert "duplicate key 'trader_id'" in message and "lines 1 and 3" in message


def test_duplicate_json_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"trader_id": "ABC-1", "trader_id": "XYZ-2"}')
    assert "duplicate key 'trader_id'" in str(refused(path))


def test_yaml_errors_never_quote_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(f'live:\n  binance:\n    api_secret: "{SECRET}\n    api_key: [\n')
    message = str(refused(path))
    assert "line" in message
    assert SECRET not in message


def test_nested_defaults_expand_as_in_a_posix_shell() -> None:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["data"]["catalog"]["path"] = "${CAT:-${BASE:-/srv}/catalog}"
    assert parse_config(raw, environ={}).data.catalog.path == "/srv/catalog"  # type: ignore[union-attr]
    assert (
        parse_config(raw, environ={"BASE": "/data"}).data.catalog.path  # type: ignore[union-attr]
        == "/data/catalog"
    )
    assert parse_config(raw, environ={"CAT": "/x"}).data.catalog.path == "/x"  # type: ignore[union-attr]
    raw["trader_id"] = "${DESK"
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, environ={})
    assert exc.value.issues[0].location == "trader_id"
    assert "malformed" in exc.value.issues[0].message


def test_malformed_set_values_name_the_key_and_never_echo_the_value() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(EXAMPLE, overrides=[f"trader_id=[{SECRET}", SECRET])
    text = str(exc.value)
    assert "--set trader_id" in text
    assert SECRET not in text
