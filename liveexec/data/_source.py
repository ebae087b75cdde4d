"""A market data file's bytes, bounded: regular files only, their size, how far they decompress,
and their text handed on in blocks of whole lines.

The file is checked before it is opened (a FIFO would block the open, a device would never end)
and opened without blocking, then checked again on the open descriptor, which is the only one read:
a path swapped for a FIFO in between cannot hang the import. Text is decompressed as it is read
(gzip, zstd, a zip of one CSV) and refused the moment it passes the limits, so a zip bomb costs
the limit, not its expansion. Messages never quote the file's bytes.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type information

from liveexec.data._limits import (
    BLOCK_BYTES,
    MAX_LINE_BYTES,
    ReadLimits,
    format_size,
)
from liveexec.errors import DataError

__all__ = ["Format", "Refuse", "Source", "open_source", "text_blocks"]

Format = Literal["text", "gzip", "zstd", "zip", "parquet"]

_MAGIC: tuple[tuple[bytes, Format], ...] = (
    (b"PAR1", "parquet"),
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_ZIP_END = b"PK\x05\x06"
_ZIP_MAX_ENTRIES = 16  # one CSV, perhaps a folder or two; more is not a download of one file


class _Stream(Protocol):
    """What is read from: the file, a gzip or zip member stream, pyarrow's zstd stream."""

    def read(self, size: int = -1, /) -> bytes: ...


class Refuse(Protocol):
    """Makes the import's ``DataError`` for this file (the reader adds the layout)."""

    def __call__(
        self, message: str, *, row: int | None = None, hint: str | None = None
    ) -> DataError: ...


@dataclass(frozen=True, slots=True)
class Source:
    """A regular file, open for reading; ``format`` from its first bytes, not its name."""

    path: Path
    handle: BinaryIO
    size: int
    format: Format


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _not_regular(path: Path, mode: int, refuse: Refuse) -> DataError:
    what = _kind(mode)
    if path.is_symlink():
        what = f"a symbolic link to {os.path.realpath(path)}, {what}"
    return refuse(
        f"{what}, not a regular file: only regular files are read "
        "(a FIFO or a device would block or never end)"
    )


@contextmanager
def open_source(path: Path, refuse: Refuse, *, what: str = "file") -> Iterator[Source]:
    """The regular file at ``path`` (symbolic links followed), open; anything else is refused
    before a byte is read. ``what`` names it when it is missing ('quotes file')."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise refuse(f"{what} not found") from None
    except OSError as exc:
        raise refuse(f"cannot open the file: {exc.strerror or type(exc).__name__}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(path, info.st_mode, refuse)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the check, the open cannot block.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise refuse(f"cannot open the file: {exc.strerror or type(exc).__name__}") from None
    with ExitStack() as stack:
        handle = stack.enter_context(os.fdopen(fd, "rb"))
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise _not_regular(path, opened.st_mode, refuse)
        try:
            magic = os.pread(fd, 4, 0)
        except OSError as exc:
            raise refuse(f"cannot read the file: {exc.strerror or type(exc).__name__}") from None
        found: Format = next((name for head, name in _MAGIC if magic.startswith(head)), "text")
        yield Source(path, handle, opened.st_size, found)


def _too_big(source: Source, limits: ReadLimits, refuse: Refuse, *, read: int) -> DataError:
    """The text passed ``limits``: by its size, or by how far it expanded."""
    if source.format == "text" or read > limits.max_bytes:
        return refuse(
            f"more than {format_size(limits.max_bytes)} of text "
            f"(the limit on what one import reads)",
            hint="import it in parts, or raise the limit with --max-bytes (e.g. --max-bytes "
            f"{format_size(limits.max_bytes * 2).replace(' ', '')})",
        )
    return refuse(
        f"expands to more than {limits.max_ratio:g} times its compressed size "
        f"({format_size(source.size)} to over {format_size(read)}): "
        "a compression bomb, or not market data",
        hint="if the file is real, raise the limit with --max-ratio",
    )


def _zip_entries(handle: BinaryIO) -> int | None:
    """The entry count of a zip's end record, read before ``zipfile`` loads every entry of its
    central directory into memory (None: not found, or a ZIP64 count zipfile reads itself)."""
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - (1 << 16) - 22))
    tail = handle.read()
    end = tail.rfind(_ZIP_END)
    if end < 0 or len(tail) < end + 22:
        return None
    count: int = struct.unpack_from("<H", tail, end + 10)[0]
    return None if count == 0xFFFF else count


@contextmanager
def _zip_member(
    source: Source, limits: ReadLimits, refuse: Refuse
) -> Iterator[tuple[_Stream, int]]:
    entries = _zip_entries(source.handle)
    if entries is not None and entries > _ZIP_MAX_ENTRIES:
        raise refuse(f"a zip archive must hold exactly one CSV file, this one holds {entries:,}")
    try:
        archive = zipfile.ZipFile(source.handle)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise refuse(f"cannot read the zip archive: {exc}") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            names = [info.filename[:80] for info in members[:5]]
            more = f" and {len(members) - 5:,} more" if len(members) > 5 else ""
            msg = f"a zip archive must hold exactly one CSV file, this one holds {names}{more}"
            raise refuse(msg)
        (member,) = members
        cap = limits.expanded_bytes(member.compress_size)
        if member.file_size > cap:
            # Its header says so: refused without inflating a byte (the read counts as well, as
            # a header may lie).
            raise _too_big(source, limits, refuse, read=member.file_size)
        try:
            stream = archive.open(member)
        # RuntimeError: encrypted; NotImplementedError: a compression method zipfile lacks.
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise refuse(f"cannot read the zip archive: {exc}") from None
        with stream:
            yield stream, cap


@contextmanager
def _decompressed(
    source: Source, limits: ReadLimits, refuse: Refuse
) -> Iterator[tuple[_Stream, int]]:
    """The file's text as a stream, and how many bytes of it may be read."""
    if source.format == "text":
        if source.size > limits.max_bytes:
            raise _too_big(source, limits, refuse, read=source.size)
        yield source.handle, limits.max_bytes
    elif source.format == "zip":
        with _zip_member(source, limits, refuse) as member:
            yield member
    elif source.format == "gzip":
        with gzip.GzipFile(fileobj=source.handle, mode="rb") as stream:
            yield stream, limits.expanded_bytes(source.size)
    else:  # zstd, which polars read before liveexec read files itself; pyarrow streams it
        zstd = pa.CompressedInputStream(pa.PythonFile(source.handle, mode="r"), "zstd")
        try:
            yield zstd, limits.expanded_bytes(source.size)
        finally:
            zstd.close()


# Failures of reading or decompressing: the disk, gzip, zip (a bad CRC shows at the end), zstd.
_READ_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, pa.ArrowException)


def text_blocks(source: Source, limits: ReadLimits, refuse: Refuse) -> Generator[tuple[int, bytes]]:
    """(line number of its first line, block): the file's text in blocks of whole lines of about
    ``BLOCK_BYTES``. Refused as soon as it passes the limits, holds a NUL byte (binary, or the
    holes of a sparse file) or a line runs past ``MAX_LINE_BYTES``."""
    with _decompressed(source, limits, refuse) as (stream, cap):
        line = 1
        read = 0
        pending = b""
        while True:
            try:
                chunk = stream.read(BLOCK_BYTES)
            except _READ_ERRORS as exc:
                verb = "read" if source.format == "text" else "decompress"
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                raise refuse(f"cannot {verb} the file: {reason}") from None
            if not chunk:
                break
            read += len(chunk)
            if read > cap:
                raise _too_big(source, limits, refuse, read=read)
            nul = chunk.find(b"\0")
            if nul >= 0:
                at = line + pending.count(b"\n") + chunk.count(b"\n", 0, nul)
                raise refuse(
                    "holds a NUL byte: not a text file (binary data, or the holes of a sparse "
                    "file)",
                    row=at,
                )
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n") + 1
            pending = data[cut:]
            if len(pending) > MAX_LINE_BYTES:
                raise refuse(
                    f"a line longer than {format_size(MAX_LINE_BYTES)}: not a CSV of market data",
                    row=line + data.count(b"\n", 0, cut),
                )
            if cut:
                block = data[:cut]
                yield line, block
                line += block.count(b"\n")
        if pending:
            yield line, pending
