"""How much of a market data file an import may read: bytes, decompression ratio and rows.

A file is read a block at a time and only its checked columns are kept (~50 bytes a row), so
memory follows the rows, not the file's size: peak RSS measured 0.84 GiB for 5 million quotes and
1.7 GiB for 20 million trades (the default row limit; ~330 MiB of it is the interpreter with
NautilusTrader, polars and pandas loaded). These limits bound what is kept and how long a read
takes. The defaults pass a month of Binance 1-second klines (2.7 million rows) or a busy day of
Binance trades; a bigger file takes larger limits (``--max-rows``, ``--max-bytes``,
``--max-ratio``). Plain Python: the command line shows the defaults in its help without importing
polars or NautilusTrader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BLOCK_BYTES",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_ROWS",
    "MAX_LINE_BYTES",
    "RATIO_FLOOR_BYTES",
    "ReadLimits",
    "format_size",
    "parse_size",
]

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30

DEFAULT_MAX_BYTES = 4 * GIB  # text after decompression (CSV), column data (parquet)
DEFAULT_MAX_ROWS = 20_000_000  # ~1.1 GB of checked trade rows; a Binance kline month is 44,640
# Real CSV compresses 3 to 10 times (Binance's zips ~4x, the bundled gzip files ~4x); a zip or
# gzip bomb of zeros expands ~1,000 times. The ratio is enforced past the first 64 MiB only, so
# a small file of very repetitive rows is never refused for it.
DEFAULT_MAX_RATIO = 100.0
RATIO_FLOOR_BYTES = 64 * MIB
# No line of market data is near this long; a file without line breaks (binary, or one endless
# line) is refused here instead of being buffered whole.
MAX_LINE_BYTES = 1 * MIB
# Text parsed at a time: each block becomes a frame of text columns, ~3 times its size in memory.
BLOCK_BYTES = 16 * MIB


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Bounds of one import. ``max_bytes``: data read, i.e. CSV text after decompression or
    parquet column data; ``max_ratio``: decompressed over compressed size (past the first
    ``RATIO_FLOOR_BYTES``); ``max_rows``: data rows."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_ratio: float = DEFAULT_MAX_RATIO

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, not {self.max_bytes}")
        if self.max_rows < 1:
            raise ValueError(f"max_rows must be positive, not {self.max_rows}")
        if not self.max_ratio >= 1:  # also NaN
            raise ValueError(f"max_ratio must be 1 or more, not {self.max_ratio}")

    @classmethod
    def from_options(
        cls, *, max_bytes: str | None, max_rows: int | None, max_ratio: float | None
    ) -> ReadLimits:
        """The command line's limits: sizes as text ('8GiB'); None keeps the default.
        ``ValueError`` names what is wrong."""
        default = cls()
        return cls(
            max_bytes=default.max_bytes if max_bytes is None else parse_size(max_bytes),
            max_rows=default.max_rows if max_rows is None else max_rows,
            max_ratio=default.max_ratio if max_ratio is None else max_ratio,
        )

    @property
    def max_bytes_text(self) -> str:
        return format_size(self.max_bytes)

    def expanded_bytes(self, compressed: int) -> int:
        """The most a compressed file of ``compressed`` bytes may expand to."""
        by_ratio = max(int(self.max_ratio * compressed), RATIO_FLOOR_BYTES)
        return min(self.max_bytes, by_ratio)


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "k": KIB,
    "kib": KIB,
    "m": MIB,
    "mib": MIB,
    "g": GIB,
    "gib": GIB,
    "t": 1 << 40,
    "tib": 1 << 40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_size(text: str) -> int:
    """Bytes from '8GiB', '500MB', '64M' (K/M/G/T: powers of 1024) or a plain number."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        msg = f"{text!r} is not a size (e.g. 8GiB, 500MB, 1073741824)"
        raise ValueError(msg)
    return int(float(match.group(1)) * _UNITS[unit])


def format_size(size: int) -> str:
    """'4 GiB', '64 MiB', '1,000 bytes': for messages."""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size:,} bytes"
