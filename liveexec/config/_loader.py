"""Load a config file: parse, substitute ``${VAR}``, apply overrides, validate.

Every issue found is reported together, each with its field path.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from liveexec.config._base import Mode
from liveexec.config._models import LiveexecConfig
from liveexec.config._safe import MAX_CONFIG_BYTES, check_shape, parse_text, read_config_text
from liveexec.config._validation import SemanticIssues
from liveexec.errors import ConfigError, ConfigIssue

__all__ = ["load_config", "load_config_for", "parse_config", "substitute_env"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}


def _path_text(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


class _BadReferenceError(ValueError):
    pass


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing a ``${`` whose body starts at ``start`` (nested ``${...}``
    inside a default are skipped over, as a POSIX shell does)."""
    depth = 1
    index = start
    while index < len(text):
        if text.startswith("$$", index):
            index += 2
            continue
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise _BadReferenceError("a '${' without its closing '}'")


def _expand(text: str, environ: Mapping[str, str], missing: list[str]) -> str:
    """``${VAR}``, ``${VAR:-default}`` (the default may itself hold references, expanded only
    when it is used) and ``$$`` for a literal ``$``; any other ``$`` stays as written."""
    out: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("$$", index):
            out.append("$")
            index += 2
        elif text.startswith("${", index):
            close = _closing_brace(text, index + 2)
            body = text[index + 2 : close]
            name = _NAME.match(body)
            if name is None:
                raise _BadReferenceError("'${' must be followed by a variable name")
            rest = body[name.end() :]
            if rest and not rest.startswith(":-"):
                raise _BadReferenceError(
                    f"only ${{{name.group(0)}}} and ${{{name.group(0)}:-default}} are supported"
                )
            if name.group(0) in environ:
                out.append(environ[name.group(0)])
            elif rest:
                out.append(_expand(rest[2:], environ, missing))
            else:
                missing.append(name.group(0))
            index = close + 1
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def substitute_env(
    data: Any,  # noqa: ANN401 (parsed YAML/TOML/JSON)
    environ: Mapping[str, str],
    issues: list[ConfigIssue],
    path: tuple[str | int, ...] = (),
) -> Any:  # noqa: ANN401
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string; ``$$`` is a literal ``$``.

    An unset variable without a default, or a malformed reference, is appended to ``issues``
    with its field path (the value itself is never quoted: it may hold a secret).
    """
    if isinstance(data, str):
        if "$" not in data:
            return data
        missing: list[str] = []
        try:
            expanded = _expand(data, environ, missing)
        except _BadReferenceError as exc:
            issues.append(ConfigIssue(_path_text(path), f"malformed variable reference: {exc}"))
            return ""
        for name in missing:
            issues.append(
                ConfigIssue(
                    _path_text(path),
                    f"environment variable {name} is not set",
                    f"export {name}=... or write ${{{name}:-default}}",
                )
            )
        return expanded
    if isinstance(data, dict):
        return {
            key: substitute_env(value, environ, issues, (*path, str(key)))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [
            substitute_env(value, environ, issues, (*path, index))
            for index, value in enumerate(data)
        ]
    return data


def _apply_override(data: dict[str, Any], assignment: str) -> ConfigIssue | None:
    # Messages name the key, never the value: `--set live.binance.api_secret=...` is a secret.
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        return ConfigIssue("--set", "an argument is not of the form dotted.key=value")
    parts = key.strip().split(".")
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.setdefault(part, {})
        else:
            return ConfigIssue(
                f"--set {key}", f"{'.'.join(parts[: depth + 1])} is not a mapping or list"
            )
    if len(raw) > MAX_CONFIG_BYTES:
        return ConfigIssue(f"--set {key}", "the value is too long")
    try:
        value = parse_text(raw, "yaml", f"--set {key}") if raw.strip() else ""
    except ConfigError:
        return ConfigIssue(
            f"--set {key}", "the value is not valid YAML", "quote it: --set 'key=\"text\"'"
        )
    last = parts[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        return ConfigIssue(f"--set {key}", "cannot assign into a scalar value")
    return None


def _read(path: Path) -> Any:  # noqa: ANN401
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(
            str(path),
            [
                ConfigIssue(
                    "<file>", f"unknown file type {path.suffix!r}", "use .yaml, .toml or .json"
                )
            ],
        )
    return parse_text(read_config_text(path), kind, str(path))


def _read_mapping(file: Path) -> dict[str, Any]:
    raw = _read(file)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            str(file), [ConfigIssue("<root>", "the top level must be a mapping of fields")]
        )
    return raw


def load_config(
    path: str | os.PathLike[str],
    *,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> LiveexecConfig:
    """Load and validate a config file (YAML, TOML or JSON).

    ``overrides`` are ``dotted.key=value`` assignments applied after substitution (values are parsed
    as YAML). Relative catalog paths are resolved against the config file's folder. Raises
    :class:`~liveexec.errors.ConfigError` listing every problem found.
    """
    file = Path(path)
    return parse_config(
        _read_mapping(file),
        source=str(file),
        base_dir=file.parent,
        overrides=overrides,
        environ=environ,
    )


def load_config_for(
    path: str | os.PathLike[str],
    command: Mode,
    *,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> tuple[LiveexecConfig, str | None]:
    """The config as ``liveexec COMMAND`` runs it, and a one-line note when that is not the
    mode the file (with its overrides) says.

    ``paper`` runs any config as ``mode: paper``: the file that was backtested, unchanged (a
    paper run never sends an order, whatever the file's mode; ``mode`` is not part of the
    config_id). The config is validated as a paper config, so an issue paper mode has is
    reported as such. ``backtest`` and ``live`` load the file as it is: their preflight refuses
    another mode (``live`` trades only a config that says ``mode: live``).
    """
    file = Path(path)
    if command != "paper":
        return load_config(file, overrides=overrides, environ=environ), None
    raw = _read_mapping(file)
    check_shape(raw, str(file))
    issues: list[ConfigIssue] = []
    data = _prepared(raw, base_dir=file.parent, overrides=overrides, environ=environ, issues=issues)
    written = data.get("mode", LiveexecConfig.model_fields["mode"].get_default())
    if written == "paper" or written not in ("backtest", "live"):
        return _validated(data, source=str(file), issues=issues), None
    data["mode"] = "paper"
    note = f"{file} says mode: {written}; `liveexec paper` runs it as mode: paper"
    if written == "live":
        note += " (no order reaches a venue)"
    return _validated(data, source=f"{file} (run as mode: paper)", issues=issues), note


def parse_config(
    raw: Mapping[str, Any],
    *,
    source: str = "<config>",
    base_dir: Path | None = None,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> LiveexecConfig:
    """Validate an already-parsed config mapping (see :func:`load_config`)."""
    check_shape(raw, source)  # a mapping built in Python can be cyclic too
    issues: list[ConfigIssue] = []
    data = _prepared(raw, base_dir=base_dir, overrides=overrides, environ=environ, issues=issues)
    return _validated(data, source=source, issues=issues)


def _prepared(
    raw: Mapping[str, Any],
    *,
    base_dir: Path | None,
    overrides: Sequence[str],
    environ: Mapping[str, str] | None,
    issues: list[ConfigIssue],
) -> dict[str, Any]:
    """``raw`` with its variables substituted, the overrides applied and a relative catalog path
    resolved; what cannot be done is appended to ``issues``."""
    data: dict[str, Any] = substitute_env(
        dict(raw), os.environ if environ is None else environ, issues
    )
    for assignment in overrides:
        problem = _apply_override(data, assignment)
        if problem is not None:
            issues.append(problem)
    catalog = data.get("data", {}).get("catalog") if isinstance(data.get("data"), dict) else None
    if base_dir is not None and isinstance(catalog, dict) and isinstance(catalog.get("path"), str):
        location = catalog["path"]
        if "://" not in location:
            local = Path(location).expanduser()
            catalog["path"] = str(local if local.is_absolute() else (base_dir / local).resolve())
    return data


def _validated(data: dict[str, Any], *, source: str, issues: list[ConfigIssue]) -> LiveexecConfig:
    try:
        config = LiveexecConfig.model_validate(data)
    except ValidationError as exc:
        # A field whose variable is unset is reported once, as the unset variable.
        reported = {issue.location for issue in issues}
        issues.extend(issue for issue in _issues_from(exc) if issue.location not in reported)
    if issues:
        raise ConfigError(source, issues)
    return config


# --- turning pydantic errors into issues with field paths and hints ---------------------------


def _members(annotation: Any) -> list[Any]:  # noqa: ANN401
    """The model classes or element types an annotation may hold, unwrapping Optional/Annotated."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return str(args[0]) if len(args) == 1 else None


def _locate(loc: Sequence[str | int]) -> tuple[list[str | int], type[BaseModel] | None]:
    """Walk ``loc`` through the model tree: the display path, and the model holding the last key."""
    display: list[str | int] = []
    current: list[Any] = [LiveexecConfig]
    owner: type[BaseModel] | None = None
    for part in loc:
        models = [m for m in current if isinstance(m, type) and issubclass(m, BaseModel)]
        tagged = [m for m in models if _tag(m) == part]
        if tagged:  # a discriminated-union tag pydantic adds to the path: not a user-visible key
            current = tagged
            continue
        display.append(part)
        owner = models[0] if len(models) == 1 else None
        following: list[Any] = []
        for member in current:
            if isinstance(member, type) and issubclass(member, BaseModel):
                field = member.model_fields.get(str(part))
                if field is not None:
                    following.extend(_members(field.annotation))
            else:
                args = typing.get_args(member)
                origin = typing.get_origin(member)
                if origin in (tuple, list) and args:
                    following.extend(_members(args[0]))
                elif origin is dict and len(args) == 2:
                    following.extend(_members(args[1]))
        current = following
    return display, owner


def _hint(error: ErrorDetails, owner: type[BaseModel] | None) -> str | None:
    kind = error["type"]
    if kind == "extra_forbidden" and owner is not None:
        allowed = list(owner.model_fields)
        close = difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1)
        suffix = f"; did you mean {close[0]!r}?" if close else ""
        return f"allowed fields: {', '.join(allowed)}{suffix}"
    return None


def _issues_from(exc: ValidationError) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for error in exc.errors(include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        display, owner = _locate(error["loc"])
        if isinstance(cause, SemanticIssues):
            issues.extend(cause.issues)
            continue
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        issues.append(ConfigIssue(_path_text(display), message, _hint(error, owner)))
    return issues
