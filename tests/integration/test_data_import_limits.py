"""`liveexec data import` on hostile files, in a child process with a memory cap and a timeout:
every one is refused with one `DataError` line (exit 3) naming the file, quickly, in little
memory, and the catalog lists as it did (paths, sizes and hashes).

Each file is made for real here: a zip bomb, gzip and zstd bombs of rows, a parquet file whose one
long value repeats over every row, a sparse file, a FIFO, a link to /dev/zero, prices of 1e300,
and a full disk (a small tmpfs mounted in a private mount namespace).

The cap is ``RLIMIT_AS`` (address space): NautilusTrader, polars and pyarrow reserve ~3 GB of it
at start (thread pools, allocator arenas) without touching it, so it is set at 6 GiB, where the
unbounded reads this guards against went to 6.7-7.5 GB of RSS. What each process touched is then
measured, its peak RSS from ``wait4``, and asserted well below: ~330 MiB of it is the interpreter
with NautilusTrader, polars and pandas loaded.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
QUOTER = ROOT / "liveexec/examples/simple_quoter_btcusdt_quotes.yaml"
DEMO = ROOT / "liveexec/data/demo"
BAR_TYPE = "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL"

MEMORY_CAP = 6 << 30  # RLIMIT_AS of the import's process
REFUSED_PEAK_MIB = 768  # a file refused before its data is read: ~330 MiB used at start
READ_PEAK_MIB = 1536  # a file refused after reading up to its limit (300 MB of text)
TIMEOUT_S = 240  # a hang guard on a loaded machine; refusals take a few seconds

# Runs one import (after a seed import, and on a tmpfs it mounts, when asked) under the cap,
# reaps it with wait4 for its peak RSS, and prints what happened and the catalog's listing
# before and after, as JSON. Run as a script so that it can run in a private mount namespace.
RUNNER = r"""
import hashlib, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path

spec = json.loads(sys.argv[1])


def listing(root):
    root = Path(root)
    if not root.exists():
        return None
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_dir():
            found[name] = "directory"
        else:
            data = path.read_bytes()
            found[name] = f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    return found


def capped(args):
    cap = spec["cap"]

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "liveexec", "data", "import", *args],
            stdout=out, stderr=err, preexec_fn=limit,
        )
        timed_out = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > spec["timeout"]:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                timed_out = True
                break
            time.sleep(0.05)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return {
            "code": child.returncode,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
            "peak_rss_mib": usage.ru_maxrss / 1024,
            "seconds": time.monotonic() - started,
            "timed_out": timed_out,
        }


mount = spec.get("tmpfs")
if mount:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mount['size']}", "tmpfs",
                    mount["at"]], check=True)
try:
    if spec.get("seed"):
        seed = capped(spec["seed"])
        assert seed["code"] == 0, seed
    before = listing(spec["catalog"])
    result = capped(spec["args"])
    result["before"] = before
    result["after"] = listing(spec["catalog"])
finally:
    if mount and mount.get("unmount"):
        subprocess.run(["umount", mount["at"]], check=False)
print(json.dumps(result))
"""


def _run(
    catalog: Path,
    *args: str,
    seed: list[str] | None = None,
    tmpfs: dict[str, Any] | None = None,
    prefix: tuple[str, ...] = (),
) -> dict[str, Any]:
    common = [str(QUOTER), "--instrument", "BTCUSDT.BINANCE", "--catalog", str(catalog)]
    spec = {
        "cap": MEMORY_CAP,
        "timeout": TIMEOUT_S,
        "catalog": str(catalog),
        "args": [*common, *args],
        "seed": [*common, *seed] if seed else None,
        "tmpfs": tmpfs,
    }
    # Wide lines: rich would wrap the one error line at 80 columns.
    env = {**os.environ, "COLUMNS": "500"}
    done = subprocess.run(
        [*prefix, sys.executable, "-c", RUNNER, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=3 * TIMEOUT_S,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _refused(result: dict[str, Any], file: Path, *words: str, peak_mib: int) -> str:
    """The one error line, after checking the import was refused as it should be."""
    output = result["stdout"] + result["stderr"]
    assert not result["timed_out"], f"still running after {TIMEOUT_S} s: {output}"
    assert result["code"] == 3, output
    assert "Traceback" not in output
    assert "panicked" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert str(file) in errors[0], errors[0]
    for word in words:
        assert word in output, output
    assert result["after"] == result["before"], "the catalog changed"
    assert result["peak_rss_mib"] < peak_mib, f"peak RSS {result['peak_rss_mib']:.0f} MiB"
    # Shown with pytest -rP: what each refusal cost.
    seconds, peak = result["seconds"], result["peak_rss_mib"]
    print(f"{file.name}: refused in {seconds:.1f} s, peak RSS {peak:.0f} MiB")
    line: str = errors[0]
    return line


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog holding real quotes, copied into each test: refusals must leave it as it is."""
    root = tmp_path_factory.mktemp("seed") / "catalog"
    result = _run(root, "--quotes", str(DEMO / "btcusdt-quotes.parquet"))
    assert result["code"] == 0, result["stderr"]
    return root


@pytest.fixture
def catalog(seeded: Path, tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(seeded, target)
    return target


def _quote_rows(count: int, start_ms: int = 1_704_067_200_000) -> bytes:
    """Distinct, plausible quote rows (epoch ms, bid, ask), as real files compress."""
    ms = start_ms + np.arange(count, dtype=np.int64) * 37
    bid = 42_000 + (np.arange(count) % 5_000) / 100
    frame = pl.DataFrame({"timestamp": ms, "bid": bid, "ask": bid + 0.01})
    return frame.write_csv().encode()


# --- compression bombs --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_zip_bomb_is_refused_by_its_header(tmp_path: Path, catalog: Path) -> None:
    # 3 GiB of zeros in ~3 MB, as in the issue: refused before a byte is inflated.
    bomb = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("bomb.csv", "w", force_zip64=True) as member,
    ):
        zeros = bytes(1 << 24)
        for _ in range(192):
            member.write(zeros)
    assert bomb.stat().st_size < 4 << 20
    line = _refused(
        _run(catalog, "--quotes", str(bomb)),
        bomb,
        "expands to more than 100 times its compressed size",
        "--max-ratio",
        peak_mib=REFUSED_PEAK_MIB,
    )
    assert "3 GiB" in line


@pytest.mark.slow
def test_a_zip_of_repeated_rows_is_refused(tmp_path: Path, catalog: Path) -> None:
    # Valid rows this time, 1 GiB of them in ~3 MB.
    rows = tmp_path / "rows.zip"
    block = b"2024-01-01T00:00:00Z,100.5,100.6\n" * (1 << 15)
    with (
        zipfile.ZipFile(rows, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("rows.csv", "w", force_zip64=True) as member,
    ):
        member.write(b"timestamp,bid,ask\n")
        for _ in range(1 << 10):
            member.write(block)
    _refused(
        _run(catalog, "--quotes", str(rows)),
        rows,
        "expands to more than 100 times",
        peak_mib=REFUSED_PEAK_MIB,
    )


@pytest.mark.slow
@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_a_gzip_or_zstd_bomb_of_rows_stops_at_its_limit(
    tmp_path: Path, catalog: Path, codec: str
) -> None:
    # A stream says nothing of its size: it is refused once 100 times its size has come out.
    # One valid row repeated, 1 GiB of it: 64 members (gzip) or frames (zstd) of 16 MiB each,
    # a stream the readers decode as one. The rows read until the limit are kept.
    def compress(data: bytes) -> bytes:
        if codec == "gzip":
            return gzip.compress(data, compresslevel=9)
        sink = pa.BufferOutputStream()
        with pa.CompressedOutputStream(sink, "zstd") as stream:
            stream.write(data)
        compressed: bytes = sink.getvalue().to_pybytes()
        return compressed

    bomb = tmp_path / f"quotes.csv.{'gz' if codec == 'gzip' else 'zst'}"
    member = compress(b"1704067200000,100.5,100.6\n" * ((16 << 20) // 26))
    with bomb.open("wb") as handle:
        handle.write(compress(b"timestamp,bid,ask\n"))
        for _ in range(64):
            handle.write(member)
    assert bomb.stat().st_size < 4 << 20
    result = _run(catalog, "--quotes", str(bomb))
    line = _refused(
        result, bomb, "expands to more than 100 times", "--max-ratio", peak_mib=READ_PEAK_MIB
    )
    assert " to over " in line


@pytest.mark.slow
def test_a_parquet_value_repeated_over_every_row_is_refused(tmp_path: Path, catalog: Path) -> None:
    # One 512 KiB trade id, dictionary-encoded over 200,000 rows: a 100 KB file that would
    # decode to 100 GB.
    rows = 200_000
    long_id = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["7" * (1 << 19)])
    )
    table = pa.table(
        {
            "timestamp": pa.array(1_704_067_200_000 + np.arange(rows), pa.int64()),
            "trade_id": long_id,
            "price": pa.array(np.full(rows, 42_000.0)),
            "quantity": pa.array(np.full(rows, 0.5)),
        }
    )
    bomb = tmp_path / "trades.parquet"
    pq.write_table(table, bomb, compression="zstd")
    assert bomb.stat().st_size < 1 << 20
    _refused(
        _run(catalog, "--trades", str(bomb)),
        bomb,
        "its columns hold more than 4 GiB",
        "--max-bytes",
        peak_mib=REFUSED_PEAK_MIB,
    )


@pytest.mark.slow
def test_a_7_mb_zip_of_real_rows_imports_in_bounded_memory_or_stops_at_max_rows(
    tmp_path: Path, catalog: Path
) -> None:
    # 1.1 million distinct quotes, ~70 MB of text: read a block at a time, checked rows kept
    # (~50 bytes each), NautilusTrader's objects built and written 250,000 rows at a time.
    rows = tmp_path / "quotes.zip"
    with zipfile.ZipFile(rows, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("quotes.csv", _quote_rows(1_100_000))
    assert 5 << 20 < rows.stat().st_size < 9 << 20
    line = _refused(
        _run(catalog, "--quotes", str(rows), "--max-rows", "1000000"),
        rows,
        "--max-rows",
        peak_mib=READ_PEAK_MIB,
    )
    assert "line 1000002: more than 1,000,000 rows" in line
    done = _run(catalog, "--quotes", str(rows))
    assert done["code"] == 0, done["stderr"]
    assert "wrote 1,100,000 rows" in done["stdout"]
    assert done["peak_rss_mib"] < READ_PEAK_MIB, done["peak_rss_mib"]
    print(f"imported in {done['seconds']:.1f} s, peak RSS {done['peak_rss_mib']:.0f} MiB")
    written = [name for name in done["after"] if name.startswith("data/quote_tick/")]
    assert len(written) == 1 + 1 + 5  # the directory, the seed's file, 5 batches of 250,000


# --- files that are not data --------------------------------------------------------------------


@pytest.mark.slow
def test_a_sparse_file_is_refused_at_its_first_hole(tmp_path: Path, catalog: Path) -> None:
    sparse = tmp_path / "quotes.csv"
    with sparse.open("wb") as handle:
        handle.write(b"timestamp,bid,ask\n2024-01-01T00:00:00Z,100.5,100.6\n")
        handle.truncate(2 << 30)  # 2 GiB, no block of it on disk
    assert sparse.stat().st_blocks * 512 < 1 << 20
    line = _refused(
        _run(catalog, "--quotes", str(sparse)),
        sparse,
        "NUL byte",
        peak_mib=REFUSED_PEAK_MIB,
    )
    assert "line 3" in line


@pytest.mark.slow
def test_a_fifo_is_refused_at_once(tmp_path: Path, catalog: Path) -> None:
    fifo = tmp_path / "bars.csv"
    os.mkfifo(fifo)  # nothing ever writes to it: opening it to read would block forever
    line = _refused(
        _run(catalog, "--bars", str(fifo), "--bar-type", BAR_TYPE),
        fifo,
        peak_mib=REFUSED_PEAK_MIB,
    )
    assert "a FIFO (named pipe), not a regular file" in line


@pytest.mark.slow
def test_a_link_to_dev_zero_is_refused_as_not_a_regular_file(tmp_path: Path, catalog: Path) -> None:
    zero = tmp_path / "quotes.csv"
    zero.symlink_to("/dev/zero")
    line = _refused(_run(catalog, "--quotes", str(zero)), zero, peak_mib=REFUSED_PEAK_MIB)
    assert "a symbolic link to /dev/zero, a character device, not a regular file" in line
    assert "empty" not in line


# --- values NautilusTrader cannot hold ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("row", "column", "what"),
    [
        ("2024-01-01T00:01:00Z,1e300,1e300,1e300,1e300,5", "open", "price"),
        ("2024-01-01T00:01:00Z,100,101,99,100,1e300", "volume", "quantity"),
        ("2024-01-01T00:01:00Z,-1e300,101,-1e300,100,5", "open", "price"),
    ],
)
def test_values_of_1e300_are_refused_at_their_row(
    tmp_path: Path, catalog: Path, row: str, column: str, what: str
) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,100,101,99,100,5\n" + row
    )
    line = _refused(
        _run(catalog, "--bars", str(bars), "--bar-type", BAR_TYPE),
        bars,
        peak_mib=REFUSED_PEAK_MIB,
    )
    assert f"line 3, column {column!r}" in line
    assert f"beyond NautilusTrader's largest {what}" in line


# --- a full disk --------------------------------------------------------------------------------


def _mount_namespace(target: Path) -> tuple[tuple[str, ...], bool] | None:
    """How to mount a tmpfs on ``target`` for one run: in the private mount namespace of a new
    user namespace, which needs no privilege where user namespaces are allowed and whose mount
    ends with its process, whatever happens to the test; else, as root, a plain mount that the
    runner unmounts. (RLIMIT_FSIZE would fail the write with EFBIG, not a full disk's ENOSPC.)"""
    unshare = shutil.which("unshare")
    if unshare:
        prefix = (unshare, "--user", "--map-root-user", "--mount", "--propagation", "private")
        probe = subprocess.run(
            [*prefix, "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return prefix, False
    if os.geteuid() == 0 and shutil.which("mount"):
        return (), True
    return None


@pytest.mark.slow
@pytest.mark.parametrize("seed", [True, False], ids=["catalog-with-data", "new-catalog"])
def test_a_full_disk_is_one_data_error_and_the_catalog_is_as_it_was(
    tmp_path: Path, seed: bool
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    namespace = _mount_namespace(disk)
    if namespace is None:
        reason = "cannot mount a tmpfs here (no user namespaces, not root)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the full-disk test")
        pytest.skip(reason)
    prefix, unmount = namespace
    catalog = disk / "catalog"
    bars = DEMO / "btc-perp-20211231-20220201_1m.csv.gz"  # 45,031 bars: ~1 MB of parquet
    result = _run(
        catalog,
        "--bars", str(bars), "--bar-type", BAR_TYPE,
        "--round-to-precision",  # its prices have up to 3 decimals, BTCUSDT.BINANCE keeps 2
        seed=["--quotes", str(DEMO / "btcusdt-quotes.parquet")] if seed else None,
        tmpfs={"size": "256k", "at": str(disk), "unmount": unmount},
        prefix=prefix,
    )  # fmt: skip
    line = _refused(
        result,
        catalog,
        "cannot write to the catalog: No space left on device",
        "free space",
        peak_mib=READ_PEAK_MIB,
    )
    assert "what this import had written was removed" in line
    if seed:
        assert result["before"] and any(name.endswith(".parquet") for name in result["before"])
    else:
        assert result["before"] is None  # and the catalog it created is gone again
