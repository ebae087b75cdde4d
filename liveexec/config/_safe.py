"""Reading config text that may be hostile: bounded in size, depth and alias expansion.

A config file is small. Anything that is not (a device, a FIFO, a megabyte of YAML, an alias
bomb, a self-referencing anchor, a 5,000-digit number, duplicate keys) is refused with one clear
error naming the file and the line, before any of it is used. Error messages never quote the
file's text: a line of it may hold a secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import yaml

from liveexec.errors import ConfigError, ConfigIssue

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "check_shape",
    "parse_text",
    "read_config_text",
]

MAX_CONFIG_BYTES = 1 << 20  # 1 MiB: configs are a few kilobytes
MAX_DEPTH = 48  # the config tree itself is 6 levels deep; strategy parameters add a few
MAX_NODES = 100_000  # values after YAML aliases are expanded


def _fail(source: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(source, [ConfigIssue("<file>", message, hint)])


def read_config_text(path: Path) -> str:
    """The file's text, if it is a regular file of at most ``MAX_CONFIG_BYTES`` in UTF-8."""
    source = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise _fail(source, "file not found") from None
    except OSError as exc:
        raise _fail(source, f"cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise _fail(source, f"{kind} (a FIFO, device or socket is never read as a config)")
    if info.st_size > MAX_CONFIG_BYTES:
        raise _fail(
            source, f"{info.st_size:,} bytes; a config may have at most {MAX_CONFIG_BYTES:,}"
        )
    try:
        # O_NONBLOCK: should the path have become a FIFO since the check, opening never blocks.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise _fail(source, f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise _fail(source, f"more than {MAX_CONFIG_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _fail(
            source, f"not UTF-8 text (byte {exc.start + 1}, line {line})", "save it as UTF-8"
        ) from None


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys (it keeps the last one silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:  # noqa: ANN401
    loader.flatten_mapping(node)
    seen: dict[object, int] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: PyYAML reports it below
            first = None
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (lines {first} and {line})", key_node.start_mark
            )
        with contextlib.suppress(TypeError):  # unhashable: PyYAML's own error follows
            seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _yaml_message(exc: yaml.YAMLError) -> str:
    """The problem and its position, never the snippet of the file PyYAML would quote."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return f"{exc.problem or exc.context or 'invalid YAML'}{where}"
    return "invalid YAML"


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_text(text: str, kind: str, source: str) -> Any:  # noqa: ANN401 (parsed document)
    """Parse YAML, TOML or JSON text; every failure is a ``ConfigError`` naming the position."""
    try:
        if kind == "yaml":
            document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
        elif kind == "toml":
            document = tomllib.loads(text)
        else:
            document = json.loads(text, object_pairs_hook=_json_pairs)
    except yaml.YAMLError as exc:
        raise _fail(source, f"not valid YAML: {_yaml_message(exc)}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, f"not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise _fail(
            source, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise _fail(source, "nested too deeply") from None
    except ValueError as exc:  # int digits limit, JSON duplicate keys, bad TOML values
        raise _fail(source, f"not a valid {kind.upper()} document: {exc}") from None
    check_shape(document, source)
    return document


def check_shape(document: object, source: str) -> None:
    """Refuse trees deeper than ``MAX_DEPTH`` or larger than ``MAX_NODES`` once aliases are
    expanded (a self-referencing YAML anchor is infinitely deep). Counting stops at the limit,
    so an alias bomb costs at most ``MAX_NODES`` steps."""
    count = 0
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _fail(
                source,
                f"more than {MAX_NODES:,} values once YAML aliases are expanded",
                "an alias that repeats an alias is a YAML 'billion laughs'; write the values out",
            )
        if depth > MAX_DEPTH:
            raise _fail(
                source,
                f"nested deeper than {MAX_DEPTH} levels (or a YAML anchor that contains itself)",
            )
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
            stack.extend((key, depth + 1) for key in node)
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
