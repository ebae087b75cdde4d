"""Load a config file: parse, substitute ``${VAR}``, apply overrides, validate.

Every issue found is reported together, each with its field path.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from liveexec.config._models import LiveexecConfig, SemanticIssues
from liveexec.errors import ConfigError, ConfigIssue

__all__ = ["load_config", "parse_config", "substitute_env"]

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}


def _path_text(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def substitute_env(
    data: Any,  # noqa: ANN401 (parsed YAML/TOML/JSON)
    environ: Mapping[str, str],
    issues: list[ConfigIssue],
    path: tuple[str | int, ...] = (),
) -> Any:  # noqa: ANN401
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string; ``$$`` is a literal ``$``.

    An unset variable without a default is appended to ``issues`` with its field path.
    """
    if isinstance(data, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            issues.append(
                ConfigIssue(
                    _path_text(path),
                    f"environment variable {name} is not set",
                    f"export {name}=... or write ${{{name}:-default}}",
                )
            )
            return ""

        return _VAR.sub(replace, data)
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
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        return ConfigIssue("--set", f"{assignment!r} is not of the form dotted.key=value")
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
    value = yaml.safe_load(raw) if raw.strip() else ""
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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigIssue("<file>", "file not found")]) from None
    except OSError as exc:
        raise ConfigError(
            str(path), [ConfigIssue("<file>", f"cannot read: {exc.strerror}")]
        ) from None
    try:
        if kind == "yaml":
            return yaml.safe_load(text)
        if kind == "toml":
            return tomllib.loads(text)
        return json.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            str(path), [ConfigIssue("<file>", f"not valid {kind.upper()}: {exc}")]
        ) from None


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
    raw = _read(file)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            str(file), [ConfigIssue("<root>", "the top level must be a mapping of fields")]
        )
    return parse_config(
        raw, source=str(file), base_dir=file.parent, overrides=overrides, environ=environ
    )


def parse_config(
    raw: Mapping[str, Any],
    *,
    source: str = "<config>",
    base_dir: Path | None = None,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> LiveexecConfig:
    """Validate an already-parsed config mapping (see :func:`load_config`)."""
    issues: list[ConfigIssue] = []
    data = substitute_env(dict(raw), os.environ if environ is None else environ, issues)
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
            issues.extend(ConfigIssue(path, message) for path, message in cause.issues)
            continue
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        issues.append(ConfigIssue(_path_text(display), message, _hint(error, owner)))
    return issues
