"""``data``: the catalog a backtest or a paper replay reads, its streams and the time window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field, SecretStr, model_validator

from liveexec.config._base import Check, FrozenModel, InstrumentId, UtcDatetime
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = ["DATA_CHECKS", "CatalogConfig", "DataConfig", "DataStreamConfig"]


class CatalogConfig(FrozenModel):
    """A NautilusTrader ParquetDataCatalog: a local path or an fsspec URI (gs://, s3://, ...)."""

    path: str = Field(min_length=1, description="Local path (relative to the config file) or URI.")
    storage_options: dict[str, SecretStr] = Field(
        default_factory=dict, description="fsspec storage options (credentials are kept secret)."
    )

    @property
    def is_remote(self) -> bool:
        return "://" in self.path and not self.path.startswith("file://")


class DataStreamConfig(FrozenModel):
    kind: Literal["bars", "quotes", "trades"] = Field(
        description="What the catalog holds for the instrument: bars, quotes or trades."
    )
    instrument_id: InstrumentId = Field(description="The instrument, 'SYMBOL.VENUE'.")
    bar_type: str | None = Field(
        default=None,
        description="Required for bars, e.g. 'BTC-PERP.SIM-1-MINUTE-LAST-EXTERNAL'.",
    )

    @model_validator(mode="after")
    def _bar_type_matches(self) -> Self:
        if self.kind == "bars":
            if self.bar_type is None:
                raise ValueError(
                    "bars need 'bar_type' (e.g. 'BTC-PERP.SIM-1-MINUTE-LAST-EXTERNAL')"
                )
            if not self.bar_type.startswith(f"{self.instrument_id}-"):
                msg = f"bar_type {self.bar_type!r} does not start with '{self.instrument_id}-'"
                raise ValueError(msg)
        elif self.bar_type is not None:
            raise ValueError(f"'bar_type' is only allowed for bars, not {self.kind}")
        return self


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_NS_TIME = datetime(2262, 4, 11, tzinfo=UTC)


class DataConfig(FrozenModel):
    catalog: CatalogConfig = Field(description="The catalog the data is read from.")
    streams: tuple[DataStreamConfig, ...] = Field(
        min_length=1, description="The data replayed, one stream per instrument and kind."
    )
    start: UtcDatetime | None = Field(
        default=None,
        description="First moment replayed (inclusive); unset: the catalog's first. A date is "
        "its midnight UTC, a time without an offset is UTC ('2022-01-03', "
        "'2022-01-03T06:00:00Z').",
    )
    end: UtcDatetime | None = Field(
        default=None,
        description="Last moment replayed; unset: the catalog's last. A date is its midnight "
        "UTC, a time without an offset is UTC.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for name in ("start", "end"):
            moment = getattr(self, name)
            # NautilusTrader keeps time as unsigned 64-bit nanoseconds since 1970.
            if moment is not None and not (_EPOCH <= moment < _LAST_NS_TIME):
                raise ValueError(f"{name} ({moment}) must lie between 1970 and 2262")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self


# --- cross-field checks -------------------------------------------------------------------------


def _validate_replayed_runs_have_data(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if cfg.data is not None:
        return
    if cfg.mode == "backtest":
        yield ConfigIssue(
            "data",
            "backtest mode needs a 'data' section (catalog and streams)",
            "add data.catalog.path and data.streams",
        )
    elif cfg.mode == "paper" and cfg.paper.market_data == "replay":
        yield ConfigIssue(
            "data",
            "paper mode replays a 'data' section (catalog and streams)",
            "add data.catalog.path and data.streams, or set paper.market_data: venue",
        )


def _validate_streams_name_instruments(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    known = set(cfg.instrument_ids)
    if cfg.data is None or not known:
        return
    for index, stream in enumerate(cfg.data.streams):
        if stream.instrument_id not in known:
            yield ConfigIssue(
                f"data.streams[{index}].instrument_id",
                f"{stream.instrument_id!r} is not among the instruments {sorted(known)}",
                "define the instrument under 'instruments' or stream one that is",
            )


DATA_CHECKS: tuple[Check, ...] = (
    _validate_replayed_runs_have_data,
    _validate_streams_name_instruments,
)
