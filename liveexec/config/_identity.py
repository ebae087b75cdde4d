"""Config identity and redaction: what may leave the process, and the hash that names a config."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = ["REDACTED", "config_id", "identity_document", "redacted_document"]

REDACTED = "**********"

# Where results are stored and which mode runs the config do not change what the config trades:
# the same config keeps its id from backtest through paper to live.
_NOT_IDENTITY = frozenset({"mode", "database"})


def _walk(value: object, *, identity: bool) -> Any:  # noqa: ANN401 (JSON-shaped tree)
    """JSON-shaped copy of a config; secrets redacted, or (for identity) dropped with defaults."""
    if isinstance(value, BaseModel):
        out = {}
        for name, info in type(value).model_fields.items():
            child = getattr(value, name)
            if identity and (
                isinstance(child, SecretStr) or child == info.get_default(call_default_factory=True)
            ):
                continue
            out[name] = _walk(child, identity=identity)
        return out
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, dict):
        return {str(key): _walk(item, identity=identity) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(item, identity=identity) for item in value]
    return value


def redacted_document(cfg: LiveexecConfig) -> dict[str, Any]:
    """The whole config as JSON-compatible data, every secret replaced by ``REDACTED``.

    This is what is stored in the ``runs`` table and shown to users.
    """
    data = _walk(cfg, identity=False)
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def identity_document(cfg: LiveexecConfig) -> dict[str, Any]:
    """The canonical form hashed by :func:`config_id`.

    Secrets, ``mode``, ``database`` and the catalog location are left out (where things are
    stored is not what is traded), and so is every field left at its default, so a
    value written out explicitly and the same value taken by default give the same id, and adding
    a new optional field to liveexec does not change the id of existing configs.
    """
    data = _walk(cfg, identity=True)
    for name in _NOT_IDENTITY:
        data.pop(name, None)
    if isinstance(data.get("data"), dict):
        data["data"].pop("catalog", None)  # where the data is stored, not what it is
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def config_id(cfg: LiveexecConfig) -> str:
    """A stable 16-hex-digit hash of :func:`identity_document`."""
    canonical = json.dumps(identity_document(cfg), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
