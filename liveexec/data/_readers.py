"""Files into polars frames with named columns and the file's own row numbers, a batch at a time.

CSV (plain, gzip, zstd, or a zip holding one CSV) comes from ``_source`` in blocks of whole lines;
polars reads each block with every field as text, so that each bad value can be reported at its
line rather than failing the whole read. Parquet keeps its types and is read in row batches of
the columns asked for. Nothing past the limits (``_limits``) is read: the parser keeps only its
checked columns, so memory follows the rows, not the file's bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type information
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from liveexec.data._layouts import DataKind, Layout
from liveexec.data._limits import ReadLimits, format_size
from liveexec.data._source import Refuse, Source, open_source, text_blocks
from liveexec.errors import DataError

__all__ = ["ROW", "RawTable", "open_table"]

# The 1-based row number in the source file (its line for text files), kept through sorting.
ROW = "__row"

_PARQUET_BATCH_ROWS = 1 << 20
_MAX_NAME = 200  # characters of a column's name in a header line
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


class RawTable:
    """A file's column names and, read once, its rows: each batch a frame of the columns asked
    for, named, with ``ROW``. ``row_label`` is 'line' (text) or 'row' (parquet)."""

    def __init__(
        self,
        path: Path,
        columns: tuple[str, ...],
        row_label: str,
        *,
        had_header: bool,
        read: Callable[[Sequence[str]], Iterator[pl.DataFrame]],
    ) -> None:
        self.path = path
        self.columns = columns
        self.row_label = row_label
        self.had_header = had_header
        self._read = read

    def batches(self, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
        return self._read(columns)


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


def _refuser(path: Path, kind: DataKind, layout: Layout, row_label: str = "line") -> Refuse:
    def refuse(message: str, *, row: int | None = None, hint: str | None = None) -> DataError:
        return _fail(path, kind, layout, message, row=row, row_label=row_label, hint=hint)

    return refuse


def _source_refuser(path: Path, row_label: str = "line") -> Refuse:
    """For what is wrong with the file as such (not regular, too big, not text): its layout is
    beside the point."""

    def refuse(message: str, *, row: int | None = None, hint: str | None = None) -> DataError:
        return DataError(str(path), message, row=row, row_label=row_label, hint=hint)

    return refuse


@contextmanager
def open_table(
    path: Path, kind: DataKind, layout: Layout, limits: ReadLimits
) -> Iterator[RawTable]:
    """``path`` (format from its content, not its name) with ``layout``'s column names, open
    until the block ends."""
    path = Path(path)
    refuse = _source_refuser(path)
    with open_source(path, refuse, what=f"{kind} file") as source, ExitStack() as stack:
        if source.format == "parquet":
            yield _parquet_table(source, kind, layout, limits)
        else:
            yield _csv_table(source, kind, layout, limits, stack)


def _too_many_rows(refuse: Refuse, limits: ReadLimits, row: int | None) -> DataError:
    return refuse(
        f"more than {limits.max_rows:,} rows (the limit on what one import keeps)",
        row=row,
        hint="import it in parts, or raise the limit with --max-rows (memory grows with the "
        "rows: about 100 bytes each while they are checked)",
    )


# --- parquet -----------------------------------------------------------------------------------


def _parquet_table(source: Source, kind: DataKind, layout: Layout, limits: ReadLimits) -> RawTable:
    path = source.path
    refuse = _refuser(path, kind, layout, "row")
    bounds = _source_refuser(path, "row")
    try:
        schema = pq.read_schema(source.handle)
        # Text columns are read as dictionaries, so that a batch's size is known before one long
        # value repeated over many rows is written out for each of them.
        text = [field.name for field in schema if _is_text(field.type)]
        parquet = pq.ParquetFile(source.handle, read_dictionary=text)
        meta = parquet.metadata
    except (pa.ArrowException, OSError) as exc:
        raise refuse(f"cannot read parquet: {exc}") from None
    if meta.num_rows > limits.max_rows:
        raise _too_many_rows(bounds, limits, None)
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if declared > limits.expanded_bytes(source.size):
        raise bounds(
            f"its columns hold {format_size(declared)} uncompressed, over "
            f"{format_size(limits.expanded_bytes(source.size))} (the limit on what one import "
            f"reads, and at most {limits.max_ratio:g} times the file's size)",
            hint="import it in parts, or raise --max-bytes (or --max-ratio)",
        )
    stored = tuple(schema.names)
    names = stored
    if layout.columns is not None:
        names = tuple(_names(path, kind, layout, len(stored), "row"))
    source_of = dict(zip(names, stored, strict=True))

    def read(columns: Sequence[str]) -> Iterator[pl.DataFrame]:
        wanted = [name for name in names if name in columns]
        offset = 1
        held = 0
        try:
            batches = parquet.iter_batches(
                batch_size=_PARQUET_BATCH_ROWS,
                columns=[source_of[name] for name in wanted],
                use_threads=False,
            )
            for batch in batches:
                arrays = []
                for array in batch.columns:
                    if pa.types.is_dictionary(array.type):
                        lengths = pc.binary_length(array.dictionary)
                        held += int(pc.sum(pc.take(lengths, array.indices)).as_py() or 0)
                        if held > limits.max_bytes:
                            break
                        array = array.dictionary_decode()  # noqa: PLW2901 (the decoded column)
                    else:
                        held += array.nbytes
                    arrays.append(array)
                if held > limits.max_bytes:
                    raise bounds(
                        f"its columns hold more than {format_size(limits.max_bytes)} "
                        "(the limit on what one import reads)",
                        row=offset,
                        hint="import it in parts, or raise the limit with --max-bytes",
                    )
                if offset - 1 + batch.num_rows > limits.max_rows:
                    raise _too_many_rows(bounds, limits, offset + limits.max_rows)
                frame = pl.from_arrow(pa.Table.from_arrays(arrays, names=wanted))
                assert isinstance(frame, pl.DataFrame)
                frame = frame.with_row_index(ROW, offset=offset).with_columns(
                    pl.col(ROW).cast(pl.Int64)
                )
                offset += batch.num_rows
                yield frame
        except (pa.ArrowException, OSError) as exc:
            raise refuse(f"cannot read parquet: {exc}") from None
        if offset == 1:
            raise refuse("the file holds no rows")

    return RawTable(path, names, "row", had_header=True, read=read)


def _is_text(kind: object) -> bool:
    return any(
        test(kind)
        for test in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_binary,
            pa.types.is_large_binary,
        )
    )


# --- CSV ---------------------------------------------------------------------------------------


def _positional(width: int) -> list[str]:
    return [f"c{i}" for i in range(width)]


def _lines(block: bytes) -> int:
    return block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def _read_block(
    block: bytes, line: int, layout: Layout, width: int | None, refuse: Refuse
) -> pl.DataFrame:
    """One block's rows as text, numbered by line. ``width`` None: the first line says."""
    schema = dict.fromkeys(_positional(width), pl.String) if width else None
    try:
        frame = pl.read_csv(
            block,
            has_header=False,
            infer_schema=False,
            schema=schema,
            separator=layout.delimiter,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise _block_error(block, line, layout, exc, refuse) from None
    if frame.height != _lines(block):
        # A quoted field spanning lines: the rows' numbers would no longer be their lines.
        start = line
        for offset, text in enumerate(block.split(b"\n")):
            if text.count(b'"') % 2:
                start = line + offset
                break
        message = "a quoted field runs past the end of its line (a '\"' is not closed)"
        raise refuse(message, row=start)
    if width is None:
        frame.columns = _positional(frame.width)
    return frame.with_row_index(ROW, offset=line).with_columns(pl.col(ROW).cast(pl.Int64))


def _block_error(
    block: bytes, line: int, layout: Layout, exc: Exception, refuse: Refuse
) -> DataError:
    """polars says neither the line nor, for ragged rows, the count: find them for the message."""
    text = str(exc)
    if "utf-8" in text or "utf8" in text:
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as bad:
            at = line + block.count(b"\n", 0, bad.start)
            return refuse("not UTF-8 text", row=at, hint="save the file as UTF-8")
    if "fields" in text:
        delimiter = layout.delimiter.encode()
        width: int | None = None
        for offset, row in enumerate(block.split(b"\n")):
            if not row.strip():
                continue
            fields = row.count(delimiter) + 1
            if width is None:
                width = fields
            elif fields != width:
                message = f"{fields} fields where the first line has {width}"
                return refuse(message, row=line + offset)
    first = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
    return refuse(f"cannot read as CSV: {first}", row=line)


def _csv_table(
    source: Source, kind: DataKind, layout: Layout, limits: ReadLimits, stack: ExitStack
) -> RawTable:
    path = source.path
    refuse = _refuser(path, kind, layout)
    bounds = _source_refuser(path)
    blocks = text_blocks(source, limits, bounds)
    stack.callback(blocks.close)  # a read stopped early closes the decompressor before the file
    first: pl.DataFrame | None = None
    read_any = False
    for line, block in blocks:
        read_any = True
        # Blank lines before the first row would make polars count one column.
        stripped = block.lstrip(b"\r\n")
        if not stripped.strip():
            continue
        start = line + block.count(b"\n", 0, len(block) - len(stripped))
        first = _read_block(stripped, start, layout, None, refuse)
        break
    if first is None:
        raise refuse("the file holds no rows" if read_any else "the file is empty")
    width = first.width - 1
    data_columns = _positional(width)
    values = list(first.row(0)[1:])
    header = layout.header
    if header is None:
        header = not any(isinstance(value, str) and _NUMBER.fullmatch(value) for value in values)
    if header:
        file_names = [str(value).strip() if value is not None else "" for value in values]
        header_row = first.item(0, ROW)
        first = first.slice(1)
        if layout.columns is None:
            if "" in file_names:
                position = file_names.index("") + 1
                raise refuse(f"header column {position} has no name", row=header_row)
            long = next((i for i, name in enumerate(file_names) if len(name) > _MAX_NAME), None)
            if long is not None:
                # Column names are quoted in messages: a megabyte-long one is not a header.
                message = f"header column {long + 1} is longer than {_MAX_NAME} characters"
                raise refuse(message, row=header_row, hint="name the columns with --columns")
            names = file_names
        else:
            names = _names(path, kind, layout, width, "line")
    else:
        if layout.columns is None:
            raise refuse(
                "the file has no header line, so its columns need names",
                row=first.item(0, ROW),
                hint="name them with --columns (e.g. --columns timestamp,open,high,low,close) "
                "or pick a --preset",
            )
        names = _names(path, kind, layout, width, "line")
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise refuse(f"the header names {twice} more than once", row=1)
    name_of = dict(zip(data_columns, names, strict=True))
    parsed_first = first

    def read(columns: Sequence[str]) -> Iterator[pl.DataFrame]:
        wanted = [column for column in data_columns if name_of[column] in columns]
        rows = 0
        frame: pl.DataFrame | None = parsed_first
        while frame is not None:
            # Blank lines come back as rows of nulls; they hold nothing to import.
            frame = frame.filter(pl.any_horizontal(pl.col(data_columns).is_not_null()))
            if rows + frame.height > limits.max_rows:
                raise _too_many_rows(bounds, limits, frame.item(limits.max_rows - rows, ROW))
            rows += frame.height
            yield frame.select(ROW, *wanted).rename({c: name_of[c] for c in wanted})
            following = next(blocks, None)
            frame = (
                None
                if following is None
                else _read_block(following[1], following[0], layout, width, refuse)
            )
        if rows == 0:
            raise refuse("the file holds a header line and no rows")

    return RawTable(path, tuple(names), "line", had_header=header, read=read)


def _names(path: Path, kind: DataKind, layout: Layout, width: int, row_label: str) -> list[str]:
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
            row_label=row_label,
        )
    return list(layout.columns[:width])
