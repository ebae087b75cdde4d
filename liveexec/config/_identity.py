"""Config identity and redaction: what may leave the process, and the hash that names a config."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import importlib
import json
import math
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from liveexec.config._models import MONEY_PATTERN

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = [
    "REDACTED",
    "component_parameters",
    "config_id",
    "identity_document",
    "redacted_document",
]

REDACTED = "**********"

# What does not change what the config trades: where results and logs go, which mode runs it,
# which trader id it runs under, how a paper run paces its replay and which live adapters and
# keys carry it. The same config keeps its id from backtest through paper to live.
# The promotion criteria judge a config; they do not change what it trades. ``stop`` is what an
# operator's stop does to a paper/live node's orders, not part of the strategy.
_NOT_IDENTITY = frozenset(
    {"mode", "database", "logging", "trader_id", "live", "paper", "promotion", "stop"}
)
_COMPONENT_SECTIONS = ("strategies", "exec_algorithms", "actors")
_MONEY = re.compile(MONEY_PATTERN)  # the config's money amounts (MoneyStr)


def canonical_number(value: Decimal | float) -> str | float | int:
    """One spelling per number: ``Decimal('0.000180')`` and ``Decimal('0.00018')`` are one value.

    Decimals become their shortest exact text (no exponent); integral floats stay floats, since a
    field typed float gives a float whatever was written.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        normalized = value.normalize()
        text = f"{normalized:f}"
        return "0" if normalized.is_zero() else text
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


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
    if identity and isinstance(value, (Decimal, float)):
        return canonical_number(value)
    if identity and isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()  # one instant, one spelling
    if identity and isinstance(value, str) and (money := _MONEY.fullmatch(value)):
        return f"{canonical_number(Decimal(money.group(1)))} {money.group(2)}"  # '1.00 USD'
    return value


def _canonical_struct_value(value: object) -> Any:  # noqa: ANN401 (JSON-shaped)
    """A component config value as its config class parsed it, in one spelling."""
    import msgspec  # noqa: PLC0415 (only for component configs)

    if isinstance(value, msgspec.Struct):
        return _canonical_struct(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, (Decimal, float)):
        return canonical_number(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (dt.datetime, dt.date, dt.timedelta)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _canonical_struct_value(v) for k, v in sorted(value.items(), key=str)}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_canonical_struct_value(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, (set, frozenset)) else items
    return str(value)  # identifiers (InstrumentId, BarType, ...) print in their canonical form


def _canonical_struct(struct: Any) -> dict[str, Any]:  # noqa: ANN401 (a msgspec.Struct)
    """Fields of a parsed component config that differ from the class defaults."""
    import msgspec  # noqa: PLC0415

    out: dict[str, Any] = {}
    for field in msgspec.structs.fields(struct):
        value = getattr(struct, field.name)
        if field.default is not msgspec.NODEFAULT:
            default = field.default
        elif field.default_factory is not msgspec.NODEFAULT:
            default = field.default_factory()
        else:
            default = msgspec.NODEFAULT
        if default is not msgspec.NODEFAULT and _same(value, default):
            continue
        out[field.name] = _canonical_struct_value(value)
    return out


def _same(value: object, default: object) -> bool:
    try:
        return bool(value == default) and type(value) is type(default)
    except Exception:  # an exotic value without a usable __eq__ is never taken for a default
        return False


def _canonical_component_config(config_path: str, config: dict[str, Any]) -> dict[str, Any]:
    """The component's parameters as its own config class reads them.

    ``trade_size: "0.100"`` and ``trade_size: 0.1`` are one Decimal to the strategy; a parameter
    written out at its default is the default. Where the class cannot be imported or rejects the
    parameters (the config is refused before any run then), the parameters are used as written.
    """
    module_name, _, name = config_path.partition(":")
    try:
        config_cls = getattr(importlib.import_module(module_name), name)
        parsed = config_cls.parse(json.dumps(config))
        return _canonical_struct(parsed)
    except Exception:  # not importable or rejected: checked and reported by preflight
        return config


def component_parameters(config_path: str, config: dict[str, Any]) -> dict[str, Any]:
    """A strategy's (actor's, algorithm's) parameters that differ from its config class's
    defaults, as the class reads them (in one spelling, as :func:`config_id` takes them); the
    parameters as written when the class cannot be imported or refuses them."""
    return _canonical_component_config(config_path, config)


def redacted_document(cfg: LiveexecConfig) -> dict[str, Any]:
    """The whole config as JSON-compatible data, every secret replaced by ``REDACTED``.

    This is what is stored in the ``runs`` table and shown to users.
    """
    data = _walk(cfg, identity=False)
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def identity_document(cfg: LiveexecConfig) -> dict[str, Any]:
    """The canonical form hashed by :func:`config_id`.

    Left out: secrets, ``mode``, ``database``, ``logging``, ``trader_id`` and the catalog
    location (where things are stored and who runs them is not what is traded), and every field
    left at its default, so a value written out explicitly and the same value taken by default
    give the same id, and a new optional field does not change the id of existing configs.
    Numbers have one spelling per value and type, and component parameters are read by their own
    config class, so YAML, TOML and JSON of the same content give one id.
    """
    data = _walk(cfg, identity=True)
    for name in _NOT_IDENTITY:
        data.pop(name, None)
    if isinstance(data.get("data"), dict):
        data["data"].pop("catalog", None)  # where the data is stored, not what it is
    if isinstance(risk := data.get("risk"), dict):
        # The kill switch is how an operator stops a node, not what the strategy trades.
        risk.pop("kill_switch", None)
        if not risk:
            data.pop("risk")
    for section in _COMPONENT_SECTIONS:
        for spec in data.get(section, []):
            spec["config"] = _canonical_component_config(
                spec["config_path"], spec.get("config", {})
            )
    result: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return result


def config_id(cfg: LiveexecConfig) -> str:
    """A stable 16-hex-digit hash of :func:`identity_document`."""
    canonical = json.dumps(identity_document(cfg), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
