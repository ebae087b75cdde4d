"""Column types that keep money exact and time zone-aware on both SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "EXACT_CONTEXT",
    "MONEY_PRECISION",
    "MONEY_SCALE",
    "ExactDecimal",
    "JSONDocument",
    "UTCDateTime",
    "checked_decimal",
    "checked_utc",
]

MONEY_PRECISION = 36
MONEY_SCALE = 18
_MAX_INTEGER_DIGITS = MONEY_PRECISION - MONEY_SCALE
# Decimal's default context keeps 28 digits: normalising in it would round a 36-digit amount.
EXACT_CONTEXT = Context(prec=MONEY_PRECISION + 2)

JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def checked_decimal(value: Decimal | int | str) -> Decimal:
    """``value`` as a Decimal that fits ``NUMERIC(36,18)`` exactly; ValueError otherwise."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a decimal number") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal")
    _sign, digits, exponent = number.normalize(EXACT_CONTEXT).as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    decimals = max(0, -exponent)
    integer_digits = max(0, len(digits) + exponent)
    if decimals > MONEY_SCALE or integer_digits > _MAX_INTEGER_DIGITS:
        msg = (
            f"{value} does not fit NUMERIC({MONEY_PRECISION},{MONEY_SCALE}) exactly "
            f"({integer_digits} integer digits, {decimals} decimals)"
        )
        raise ValueError(msg)
    return number


def checked_utc(value: datetime) -> datetime:
    """``value`` in UTC; naive datetimes are refused (ValueError)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone")
    return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """``NUMERIC(36, 18)`` on PostgreSQL; exact decimal text on SQLite.

    SQLite stores ``NUMERIC`` as a float and silently rounds (17 significant digits), so there the
    value is kept as its canonical decimal string. A value that does not fit 36 digits with 18
    decimals is refused rather than rounded on either database.
    """

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(MONEY_PRECISION + 2))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:  # noqa: ANN401
        if value is None:
            return None
        number = checked_decimal(value)
        if dialect.name == "sqlite":
            text = format(number.normalize(EXACT_CONTEXT), "f")
            return "0" if text in ("-0", "0") else text
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:  # noqa: ANN401
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps, stored in UTC; naive datetimes are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = checked_utc(value)
        # SQLite has no time zone type: store naive UTC text, re-attach UTC on the way out.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
