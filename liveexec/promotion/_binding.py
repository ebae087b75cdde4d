"""What an approval binds: the config, the code that will trade, the versions it runs on, the
risk section, and the runs it was judged on.

``config_id`` leaves out what does not change the orders a config sends (keys, mode, paths, the
kill switch, ...): right for comparing runs, too weak for an approval. A strategy's Python code
edited, the kill switch switched off, or another NautilusTrader under the same ``config_id``
is not what was approved, so a decision also records :func:`binding` and ``live`` compares it
with the binding of what it is about to start, naming every part that differs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import platform
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from liveexec._version import __version__
from liveexec.config import LiveexecConfig
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.runs import RunResult

__all__ = ["binding", "binding_changes", "run_fingerprint"]

# Packages whose version is bound: of them, only the component's own module file is hashed.
_VERSIONED = frozenset({"nautilus_trader", "liveexec"})
_SOURCE_SUFFIXES = (".py", ".pyx", ".pxd", ".so", ".pyd")
_MAX_FILES = 5_000
_COMPONENT_SECTIONS = ("strategies", "exec_algorithms", "actors")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _package_files(roots: list[Path]) -> Iterator[tuple[str, Path]]:
    for root in roots:
        for path in sorted(root.rglob("*")):
            if (
                path.suffix in _SOURCE_SUFFIXES
                and "__pycache__" not in path.parts
                and path.is_file()
            ):
                yield f"{root.name}/{path.relative_to(root).as_posix()}", path


def _sources(module: str, where: str) -> tuple[str, dict[str, str]]:
    """(group, {file: sha256}) of the code ``module`` runs: the whole top-level package it
    belongs to (a strategy's helpers live beside it), or only its own file for a package whose
    version is bound."""
    issue = ConfigIssue(where, f"module {module!r} cannot be found to hash its source")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise ConfigError("promotion binding", [issue])
    top = module.split(".", 1)[0]
    top_spec = importlib.util.find_spec(top) if top != module else spec
    locations = list(top_spec.submodule_search_locations or []) if top_spec else []
    if top in _VERSIONED or not locations:
        origin = Path(spec.origin)
        return f"module {module}", {origin.name: _sha256(origin)}
    files: dict[str, str] = {}
    for name, path in _package_files([Path(location) for location in locations]):
        if len(files) >= _MAX_FILES:
            raise ConfigError(
                "promotion binding",
                [
                    ConfigIssue(
                        where,
                        f"package {top!r} has over {_MAX_FILES} source files to hash",
                        "keep strategies in a package of their own",
                    )
                ],
            )
        files[name] = _sha256(path)
    return f"package {top}", files


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def binding(cfg: LiveexecConfig) -> dict[str, Any]:
    """What trades when ``cfg`` runs here: its ``config_id``, the source files of its
    strategies, execution algorithms and actors (and of their packages), the NautilusTrader,
    liveexec and Python versions, and the whole ``risk`` section, kill switch included.
    Deployment-only fields (keys, testnet or live, paths, database) stay out."""
    sources: dict[str, dict[str, str]] = {}
    for section in _COMPONENT_SECTIONS:
        for index, spec in enumerate(getattr(cfg, section)):
            for field in ("path", "config_path"):
                module = getattr(spec, field).partition(":")[0]
                group, files = _sources(module, f"{section}[{index}].{field}")
                sources[group] = files
    return {
        "config_id": cfg.config_id,
        "sources": sources,
        "versions": {
            "nautilus_trader": _version("nautilus_trader"),
            "liveexec": __version__,
            "python": ".".join(platform.python_version_tuple()[:2]),
        },
        "risk": cfg.risk.model_dump(mode="json"),
    }


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def binding_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Every part of ``current`` that differs from the ``recorded`` binding, in words."""
    changes: list[str] = []
    if recorded.get("config_id") != current["config_id"]:
        changes.append(f"config_id {recorded.get('config_id')} -> {current['config_id']}")
    old_sources: dict[str, dict[str, str]] = recorded.get("sources", {})
    for group in sorted(set(old_sources) | set(current["sources"])):
        old, new = old_sources.get(group), current["sources"].get(group)
        if old is None:
            changes.append(f"source {group}: not part of the approval")
        elif new is None:
            changes.append(f"source {group}: no longer used")
        else:
            for name in sorted(set(old) | set(new)):
                if name not in new:
                    changes.append(f"source {group}: {name} removed")
                elif name not in old:
                    changes.append(f"source {group}: {name} added")
                elif old[name] != new[name]:
                    changes.append(f"source {group}: {name} changed")
    for part in ("versions", "risk"):
        old_flat = _flat(recorded.get(part, {}))
        new_flat = _flat(current[part])
        for key in sorted(set(old_flat) | set(new_flat)):
            if old_flat.get(key, "<unset>") != new_flat.get(key, "<unset>"):
                changes.append(
                    f"{part}.{key}: {old_flat.get(key, '<unset>')} -> "
                    f"{new_flat.get(key, '<unset>')}"
                )
    return changes


def _frame_digest(frame: pl.DataFrame) -> str:
    if frame.is_empty():
        return hashlib.sha256(",".join(frame.columns).encode()).hexdigest()
    text = frame.select(pl.all().cast(pl.String)).sort(pl.all()).write_csv()
    return hashlib.sha256(text.encode()).hexdigest()


def run_fingerprint(result: RunResult) -> str:
    """SHA-256 of what a run recorded: its identity, every order (with its fills), position
    and account balance. Any edit of those rows after the decision changes it."""
    head = "|".join(
        str(value)
        for value in (
            result.run_id,
            result.config_id,
            result.mode,
            result.status,
            result.started_at.isoformat(),
            result.ended_at.isoformat() if result.ended_at else "",
        )
    )
    parts = [head] + [
        _frame_digest(frame) for frame in (result.orders, result.positions, result.account)
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
