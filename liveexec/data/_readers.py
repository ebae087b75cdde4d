"""Files into polars frames with named columns and the file's own row numbers.

CSV (plain, gzip, or a zip holding one CSV) is read by polars with every field as text, so
that each bad value can be reported at its line rather than failing the whole read; parquet
keeps its types.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from liveexec.data._layouts import DataKind, Layout
from liveexec.errors import DataError

__all__ = ["ROW", "RawTable", "read_table"]

# The 1-based row number in the source file (its line for text files), kept through sorting.
ROW = "__row"

_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


@dataclass(frozen=True, slots=True)
class RawTable:
    """A file's rows with their columns named. ``row_label`` is 'line' (text) or 'row'."""

    path: Path
    frame: pl.DataFrame
    row_label: str
    had_header: bool


def _fail(path: Path, kind: DataKind, layout: Layout, message: str, **where: object) -> DataError:
    row = where.get("row")
    column = where.get("column")
    return DataError(
        str(path),
        message,
        row=row if isinstance(row, int) else None,
        row_label=str(where.get("row_label", "line")),
        column=column if isinstance(column, str) else None,
        expected=layout.describe(kind),
        hint=str(where["hint"]) if where.get("hint") else None,
    )


def read_table(path: Path, kind: DataKind, layout: Layout) -> RawTable:
    """Read ``path`` (format from its content, not its name) with ``layout``'s column names."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise _fail(path, kind, layout, f"{kind} file not found") from None
    except OSError as exc:
        raise _fail(path, kind, layout, f"cannot open the file: {exc.strerror or exc}") from None
    if magic == _PARQUET_MAGIC:
        return _read_parquet(path, kind, layout)
    return _read_csv(path, kind, layout, zipped=magic == _ZIP_MAGIC)


def _read_parquet(path: Path, kind: DataKind, layout: Layout) -> RawTable:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _fail(path, kind, layout, f"cannot read parquet: {exc}") from None
    if layout.columns is not None:
        names = _names(path, kind, layout, frame.width)
        frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    return RawTable(path, frame, "row", had_header=True)


def _csv_source(path: Path, kind: DataKind, layout: Layout, *, zipped: bool) -> Path | io.BytesIO:
    if not zipped:
        return path  # polars decompresses gzip (and zstd) itself
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) != 1:
                names = [info.filename for info in members]
                msg = f"a zip archive must hold exactly one CSV file, this one holds {names}"
                raise _fail(path, kind, layout, msg)
            return io.BytesIO(archive.read(members[0]))
    except zipfile.BadZipFile as exc:
        raise _fail(path, kind, layout, f"cannot read the zip archive: {exc}") from None


def _read_csv(path: Path, kind: DataKind, layout: Layout, *, zipped: bool) -> RawTable:
    source = _csv_source(path, kind, layout, zipped=zipped)
    try:
        frame = pl.read_csv(
            source,
            has_header=False,
            infer_schema=False,
            separator=layout.delimiter,
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError as exc:
        raise _ragged(path, kind, layout, exc, zipped=zipped) from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise _fail(path, kind, layout, f"cannot read as CSV: {exc}") from None
    if frame.height == 0:
        raise _fail(path, kind, layout, "the file is empty")
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    data_columns = [name for name in frame.columns if name != ROW]
    # Blank lines come back as rows of nulls; they hold nothing to import.
    frame = frame.filter(pl.any_horizontal(pl.col(data_columns).is_not_null()))
    if frame.height == 0:
        raise _fail(path, kind, layout, "the file holds no rows")
    first = list(frame.row(0)[1:])
    header = layout.header
    if header is None:
        header = not any(isinstance(value, str) and _NUMBER.fullmatch(value) for value in first)
    if header:
        file_names = [str(value).strip() if value is not None else "" for value in first]
        frame = frame.slice(1)
        if frame.height == 0:
            raise _fail(path, kind, layout, "the file holds a header line and no rows")
        if layout.columns is None:
            if "" in file_names:
                position = file_names.index("") + 1
                raise _fail(path, kind, layout, f"header column {position} has no name", row=1)
            names = file_names
        else:
            names = _names(path, kind, layout, len(data_columns))
    else:
        if layout.columns is None:
            raise _fail(
                path,
                kind,
                layout,
                "the file has no header line, so its columns need names",
                row=1,
                hint="name them with --columns (e.g. --columns timestamp,open,high,low,close) "
                "or pick a --preset",
            )
        names = _names(path, kind, layout, len(data_columns))
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise _fail(path, kind, layout, f"the header names {twice} more than once", row=1)
    frame = frame.rename(dict(zip(data_columns, names, strict=True)))
    return RawTable(path, frame, "line", had_header=header)


def _names(path: Path, kind: DataKind, layout: Layout, width: int) -> list[str]:
    assert layout.columns is not None
    least = layout.min_columns if layout.min_columns is not None else len(layout.columns)
    if not least <= width <= len(layout.columns):
        count = (
            f"{len(layout.columns)}"
            if least == len(layout.columns)
            else f"{least} to {len(layout.columns)}"
        )
        raise _fail(
            path,
            kind,
            layout,
            f"the file has {width} columns, the layout names {count}",
            row=1,
        )
    return list(layout.columns[:width])


def _ragged(
    path: Path, kind: DataKind, layout: Layout, exc: Exception, *, zipped: bool
) -> DataError:
    """polars does not say which line has too many fields: find it for the message."""
    if not zipped and "fields" in str(exc):
        opener = _open_text(path)
        if opener is not None:
            with opener as lines:
                width: int | None = None
                for number, line in enumerate(lines, start=1):
                    if not line.strip():
                        continue
                    fields = line.count(layout.delimiter) + 1
                    if width is None:
                        width = fields
                    elif fields != width:
                        return _fail(
                            path,
                            kind,
                            layout,
                            f"{fields} fields where the first line has {width}",
                            row=number,
                        )
    return _fail(path, kind, layout, f"cannot read as CSV: {exc}")


def _open_text(path: Path) -> io.TextIOWrapper | None:
    import gzip  # noqa: PLC0415 (only for error reports)

    try:
        raw = path.open("rb")
        if raw.read(2) == b"\x1f\x8b":
            raw.close()
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
        raw.seek(0)
        return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
    except OSError:
        return None
