"""What every section of the config tree shares: the frozen base model, the field types with
their patterns, and the shape of a cross-field check."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = [
    "IMPORT_PATH_PATTERN",
    "MONEY_PATTERN",
    "Check",
    "CurrencyCode",
    "FrozenModel",
    "ImportPath",
    "InstrumentId",
    "Mode",
    "MoneyStr",
    "NonNegativeDecimal",
    "PositiveDecimal",
    "Precision",
    "Probability",
    "RateStr",
    "TraderId",
    "UtcDatetime",
    "VenueName",
    "duplicates",
    "is_simulated",
    "venue_of",
]

Mode = Literal["backtest", "paper", "live"]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _pattern(regex: str, what: str, example: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            msg = f"{value!r} is not a valid {what} (expected something like {example!r})"
            raise ValueError(msg)
        return value

    return AfterValidator(check)


TraderId = Annotated[str, _pattern(r"[A-Za-z0-9_]+-[A-Za-z0-9_]+", "trader id", "TRADER-001")]
VenueName = Annotated[str, _pattern(r"[A-Z][A-Z0-9_]*", "venue name", "BINANCE")]
InstrumentId = Annotated[
    str, _pattern(r"[^\s.][^\s]*\.[A-Z][A-Z0-9_]*", "instrument id", "BTCUSDT.BINANCE")
]
CurrencyCode = Annotated[str, _pattern(r"[A-Z0-9]{2,10}", "currency code", "USDT")]
IMPORT_PATH_PATTERN = r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*"  # module:Class
ImportPath = Annotated[
    str,
    _pattern(
        IMPORT_PATH_PATTERN,
        "import path",
        "nautilus_trader.examples.strategies.ema_cross:EMACross",
    ),
]
MONEY_PATTERN = r"(-?\d+(?:\.\d+)?) ([A-Z0-9]{2,10})"  # amount, currency
MoneyStr = Annotated[str, _pattern(MONEY_PATTERN, "money amount", "1000000 USD")]
RateStr = Annotated[str, _pattern(r"\d+/\d{2}:\d{2}:\d{2}", "rate limit", "100/00:00:01")]
Precision = Annotated[int, Field(ge=0, le=16)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _utc(value: object) -> object:
    """A date is its midnight UTC and a time without an offset is UTC, as `data import` reads
    them; YAML and TOML give dates and naive times as such, JSON and `--set '...'` as text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return value  # pydantic says what is wrong with it
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float):  # YAML reads 20220115 as a number: not 1970's seconds
        msg = f"{value!r} is a number, not a moment: write a date ('2022-01-15') or a time"
        raise ValueError(msg)
    return value


# A moment: '2022-01-15' is 2022-01-15 00:00 UTC; '2022-01-15T06:00' is 06:00 UTC.
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_utc)]

# A cross-field rule: one small function of the whole config (it reads other sections), each
# issue naming the field and how to fix it. Rules decide themselves which modes they apply to.
type Check = Callable[[LiveexecConfig], Iterable[ConfigIssue]]


def duplicates(values: Iterable[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def venue_of(instrument_id: str) -> str:
    return instrument_id.rsplit(".", 1)[1]


def is_simulated(cfg: LiveexecConfig) -> bool:
    """Whether the config's ``venues`` are simulated (backtest and paper) or real (live)."""
    return cfg.mode in ("backtest", "paper")
