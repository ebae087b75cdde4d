"""Market data import within bounds: what is not a regular text file is refused before it is
read, limits name themselves, values NautilusTrader cannot hold are refused at their row, files
of many blocks read as one, and objects built and written in batches equal NautilusTrader's
wrangling of the whole file. (Hostile files against the command line, under a memory cap:
``tests/integration/test_data_import_limits.py``.)
"""

from __future__ import annotations

import gzip
import itertools
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from nautilus_trader.model.data import BarType
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import PRICE_MAX, QUANTITY_MAX
from nautilus_trader.persistence.wranglers import BarDataWrangler, QuoteTickDataWrangler

from liveexec.data import (
    DEMO_DATA_DIR,
    PRESETS,
    ReadLimits,
    open_catalog,
    read_bars,
    read_bid_ask_bars_as_quotes,
    read_quotes,
    read_trades,
    write_data,
)
from liveexec.data._limits import BLOCK_BYTES, format_size, parse_size
from liveexec.errors import ConfigError, DataError
from liveexec.nodes import build_instrument, defined_instruments
from tests.unit.test_data_import import BTC_BAR, BTCUSDT, config, write

QUOTES = "timestamp,bid,ask\n"
KLINES = PRESETS["binance-klines"].layout


@pytest.fixture
def btcusdt() -> Instrument:
    return defined_instruments(config(BTCUSDT))[0]


# --- the file itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", ["fifo", "directory", "dev_null_link"])
def test_what_is_not_a_regular_file_is_refused_before_it_is_opened(
    tmp_path: Path, btcusdt: Instrument, make: str
) -> None:
    path = tmp_path / "quotes.csv"
    if make == "fifo":
        os.mkfifo(path)  # opened for reading, it would block: no writer ever comes
    elif make == "directory":
        path.mkdir()
    else:
        path.symlink_to("/dev/null")
    with pytest.raises(DataError) as caught:
        read_quotes(path, btcusdt)
    expected = {
        "fifo": "a FIFO (named pipe), not a regular file",
        "directory": "a directory, not a regular file",
        "dev_null_link": "a symbolic link to /dev/null, a character device, not a regular file",
    }[make]
    assert expected in str(caught.value)
    assert caught.value.file == str(path)


@pytest.mark.parametrize(
    ("content", "row", "words"),
    [
        (QUOTES.encode() + b"2024-01-01T00:00:00Z,1\x00,2\n", 2, "NUL byte"),
        (QUOTES.encode() + b"x" * (2 << 20), 2, "a line longer than 1 MiB"),
        (QUOTES.encode() + b'2024-01-01T00:00:00Z,"1\n2",3\n', 2, "quoted field"),
        (QUOTES.encode() + b"2024-01-01T00:00:00Z,1,2\n2024-01-01T00:00:01Z,\xff,2\n", 3,
         "not UTF-8"),
        (b"timestamp,bid," + b"a" * 5000 + b"\n2024-01-01T00:00:00Z,1,2\n", 1,
         "header column 3 is longer than 200 characters"),
    ],
)  # fmt: skip
def test_what_is_not_text_is_refused_at_its_line(
    tmp_path: Path, btcusdt: Instrument, content: bytes, row: int, words: str
) -> None:
    path = tmp_path / "quotes.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_quotes(path, btcusdt)
    assert caught.value.row == row
    assert words in str(caught.value)


def test_a_zip_of_many_files_is_refused_without_listing_them_all(
    tmp_path: Path, btcusdt: Instrument
) -> None:
    path = tmp_path / "quotes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(40):
            archive.writestr(f"part-{number}.csv", QUOTES)
    with pytest.raises(DataError, match="must hold exactly one CSV file, this one holds 40"):
        read_quotes(path, btcusdt)
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(7):
            archive.writestr(f"part-{number}.csv", QUOTES)
    with pytest.raises(DataError, match=r"holds \['part-0.csv'.*'part-4.csv'\] and 2 more"):
        read_quotes(path, btcusdt)


def test_zstd_is_still_read(tmp_path: Path, btcusdt: Instrument) -> None:
    # polars read zstd files when it read whole files; the block reader reads them too.
    path = tmp_path / "quotes.csv.zst"
    with pa.CompressedOutputStream(str(path), "zstd") as stream:
        stream.write((QUOTES + "2024-01-01T00:00:00Z,100.5,100.6\n").encode())
    assert read_quotes(path, btcusdt).rows == 1


def test_a_truncated_gzip_file_is_refused(tmp_path: Path, btcusdt: Instrument) -> None:
    path = tmp_path / "quotes.csv.gz"
    path.write_bytes(gzip.compress((QUOTES + "2024-01-01T00:00:00Z,1,2\n" * 1000).encode())[:-40])
    with pytest.raises(DataError, match="cannot decompress the file"):
        read_quotes(path, btcusdt)


# --- limits ----------------------------------------------------------------------------------


def test_limits_name_themselves_and_how_to_raise_them(tmp_path: Path, btcusdt: Instrument) -> None:
    rows = "".join(f"2024-01-01T00:00:{second:02d}Z,100.5,100.6\n" for second in range(30))
    path = write(tmp_path / "quotes.csv", QUOTES + rows)
    assert read_quotes(path, btcusdt, limits=ReadLimits(max_rows=30)).rows == 30
    with pytest.raises(DataError) as caught:
        read_quotes(path, btcusdt, limits=ReadLimits(max_rows=20))
    assert caught.value.row == 22  # the 21st row, under the header
    assert "more than 20 rows" in str(caught.value)
    assert "--max-rows" in str(caught.value)
    with pytest.raises(DataError) as caught:
        read_quotes(path, btcusdt, limits=ReadLimits(max_bytes=1000))
    assert "more than 1,000 bytes of text" in str(caught.value)
    assert "--max-bytes" in str(caught.value)
    parquet = tmp_path / "quotes.parquet"
    pl.read_csv(path).write_parquet(parquet)
    with pytest.raises(DataError, match="more than 20 rows"):
        read_quotes(parquet, btcusdt, limits=ReadLimits(max_rows=20))


def test_sizes_are_read_and_written_for_people() -> None:
    assert parse_size("8GiB") == 8 << 30
    assert parse_size("500MB") == 500_000_000
    assert parse_size("64m") == 64 << 20
    assert parse_size("1048576") == 1 << 20
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    assert format_size(4 << 30) == "4 GiB"
    assert format_size(1500) == "1.5 KiB"
    assert format_size(999) == "999 bytes"
    with pytest.raises(ValueError, match="max_rows"):
        ReadLimits(max_rows=0)
    with pytest.raises(ValueError, match="max_ratio"):
        ReadLimits(max_ratio=float("nan"))
    assert ReadLimits.from_options(max_bytes="1GiB", max_rows=None, max_ratio=None) == ReadLimits(
        max_bytes=1 << 30
    )


# --- values NautilusTrader cannot hold -------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "text", "row", "column", "words"),
    [
        ("quotes", QUOTES + "2024-01-01T00:00:00Z,1e300,1e301\n", 2, "bid", "largest price"),
        ("quotes", "timestamp,bid,ask,bid_size,ask_size\n2024-01-01T00:00:00Z,1,2,1,1e300\n", 2,
         "ask_size", "largest quantity"),
        ("trades", "timestamp,trade_id,price,quantity\n1704067200000,1,100,1e300\n", 2,
         "quantity", "largest quantity"),
        ("trades", "timestamp,trade_id,price,quantity\n1704067200000,1,-1e300,1\n", 2,
         "price", "largest price"),
        ("trades", f"timestamp,trade_id,price,quantity\n1704067200000,{'7' * 37},100,1\n", 2,
         "trade_id", "longer than 36 characters"),
        ("trades", "timestamp,trade_id,price,quantity\n1704067200000,caf\u00e9,100,1\n", 2,
         "trade_id", "not ASCII"),
    ],
)  # fmt: skip
def test_values_nautilus_cannot_hold_are_refused_at_their_row(
    tmp_path: Path,
    btcusdt: Instrument,
    read: str,
    text: str,
    row: int,
    column: str,
    words: str,
) -> None:
    path = write(tmp_path / "data.csv", text)
    with pytest.raises(DataError) as caught:
        if read == "quotes":
            read_quotes(path, btcusdt)
        else:
            read_trades(path, btcusdt)
    assert (caught.value.row, caught.value.column) == (row, column)
    assert words in str(caught.value)


def test_a_volume_option_nautilus_cannot_hold_is_a_config_error(
    tmp_path: Path, btcusdt: Instrument
) -> None:
    path = write(tmp_path / "q.csv", QUOTES + "2024-01-01T00:00:00Z,1,2\n")
    with pytest.raises(ConfigError, match="beyond NautilusTrader's largest quantity"):
        read_quotes(path, btcusdt, volume=1e300)


def test_the_largest_values_nautilus_holds_pass(tmp_path: Path, btcusdt: Instrument) -> None:
    text = (
        "timestamp,bid,ask,bid_size,ask_size\n"
        f"2024-01-01T00:00:00Z,{-PRICE_MAX},{PRICE_MAX},{QUANTITY_MAX},0\n"
    )
    (quote,) = read_quotes(write(tmp_path / "q.csv", text), btcusdt).data
    assert (str(quote.bid_price), str(quote.ask_price)) == (
        "-17014118346046.00",
        "17014118346046.00",
    )


# --- many blocks read as one file ------------------------------------------------------------


def _klines(count: int, start_ms: int = 1_704_067_200_000) -> pl.DataFrame:
    opens = start_ms + np.arange(count, dtype=np.int64) * 60_000
    price = 40_000 + (np.arange(count) % 1000) / 10
    return pl.DataFrame(
        {
            "open_time": opens,
            "open": price,
            "high": price + 5,
            "low": price - 5,
            "close": price + 1,
            "volume": np.full(count, 2.5),
            "close_time": opens + 59_999,
            "quote_volume": price * 2.5,
            "trades": np.full(count, 100),
            "taker_buy_base_volume": np.full(count, 1.0),
            "taker_buy_quote_volume": price,
            "ignore": np.zeros(count, dtype=np.int64),
        }
    )


@pytest.fixture(scope="module")
def many_blocks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A Binance kline file three text blocks long (~45 MB): 400,000 one-minute bars."""
    count = 400_000
    path = tmp_path_factory.mktemp("blocks") / "klines.csv"
    _klines(count).write_csv(path, include_header=False)
    assert path.stat().st_size > 2 * BLOCK_BYTES
    return path, count


@pytest.mark.slow
def test_a_file_of_many_blocks_reads_as_nautilus_reads_it_whole(
    many_blocks: tuple[Path, int], btcusdt: Instrument
) -> None:
    path, count = many_blocks
    ours = read_bars(path, btcusdt, BTC_BAR, KLINES)
    whole = pd.read_csv(path, header=None, names=list(KLINES.columns or ()))
    frame = pd.DataFrame(
        {
            name: whole[name].to_numpy(copy=True)
            for name in ("open", "high", "low", "close", "volume")
        },
        index=pd.to_datetime(whole["open_time"] + 60_000, unit="ms", utc=True),
        copy=False,  # a block per column: the wrangler takes a writable view of the values
    )
    theirs = BarDataWrangler(BarType.from_str(BTC_BAR), btcusdt).process(frame)
    assert ours.rows == len(theirs) == count
    assert ours.timestamps == "epoch milliseconds (detected)"
    assert ours.data == theirs


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "change", "words"),
    [
        # A time in microseconds in the third block, where the first row said milliseconds.
        (350_000, lambda row: row.replace("1725", "1725000", 1), "the column mixes units"),
        (350_000, lambda row: row.replace(",2.5,", ",-2.5,", 1), "volume -2.5 is negative"),
        (250_000, lambda row: row + ",1", "13 fields where the first line has 12"),
    ],
)
def test_a_bad_row_in_a_later_block_is_named_by_its_line(
    tmp_path: Path,
    many_blocks: tuple[Path, int],
    btcusdt: Instrument,
    line: int,
    change: object,
    words: str,
) -> None:
    path, _count = many_blocks
    lines = path.read_text().splitlines()
    assert callable(change)
    changed = change(lines[line - 1])
    assert changed != lines[line - 1]
    lines[line - 1] = changed
    bad = write(tmp_path / "klines.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        read_bars(bad, btcusdt, BTC_BAR, KLINES)
    assert caught.value.row == line
    assert words in str(caught.value)


def test_iso_times_keep_the_first_times_format_in_every_block(
    tmp_path: Path, btcusdt: Instrument
) -> None:
    rows = BLOCK_BYTES // 25  # ~29 bytes a row: over one block
    times = pl.datetime_range(
        pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 1) + pl.duration(seconds=rows - 1),
        "1s", eager=True,
    )  # fmt: skip
    frame = pl.DataFrame({"timestamp": times.dt.strftime("%Y-%m-%dT%H:%M:%SZ")})
    text = frame.with_columns(bid=pl.lit(1.5), ask=pl.lit(1.6)).write_csv()
    lines = text.splitlines()
    lines[-3] = lines[-3].replace("T", " ").replace("Z", "")  # another spelling, last block
    path = write(tmp_path / "quotes.csv", "\n".join(lines) + "\n")
    assert path.stat().st_size > BLOCK_BYTES
    with pytest.raises(DataError) as caught:
        read_quotes(path, btcusdt)
    assert caught.value.row == len(lines) - 2
    assert "not written like the first time of the column" in str(caught.value)


def _quote(quote: object) -> tuple[str, ...]:
    # Compared field by field: NautilusTrader's QuoteTick equality asserts in Rust (and aborts
    # the process) on ticks read back from a catalog.
    return tuple(
        str(getattr(quote, name))
        for name in ("instrument_id", "bid_price", "ask_price", "bid_size", "ask_size", "ts_event")
    )


# --- objects built and written in batches ----------------------------------------------------


def test_batches_equal_nautilus_wrangling_of_the_whole_file(btcusdt: Instrument) -> None:
    usdjpy = build_instrument(
        config(
            {
                "kind": "currency_pair",
                "id": "USD/JPY.SIM",
                "base_currency": "USD",
                "quote_currency": "JPY",
                "price_precision": 3,
                "size_precision": 0,
            }
        ).instruments[0]  # type: ignore[arg-type]
    )
    bid, ask = (DEMO_DATA_DIR / f"fxcm-usdjpy-m1-{side}-2013.csv.gz" for side in ("bid", "ask"))
    ours = read_bid_ask_bars_as_quotes(bid, ask, usdjpy)
    theirs = QuoteTickDataWrangler(usdjpy).process_bar_data(
        bid_data=pd.read_csv(bid, index_col="timestamp", parse_dates=True),
        ask_data=pd.read_csv(ask, index_col="timestamp", parse_dates=True),
    )
    batches = list(ours.batches(1_000))
    assert len(batches) > 20
    assert [_quote(q) for batch in batches for q in batch] == [_quote(q) for q in theirs]
    assert ours.count == len(theirs)
    bars = read_bars(
        DEMO_DATA_DIR / "btc-perp-20211231-20220201_1m.csv.gz",
        btcusdt,
        BTC_BAR,
        round_to_precision=True,  # some prices have 3 decimals
    )
    assert [bar for batch in bars.batches(5_000) for bar in batch] == bars.data


def test_a_batch_never_ends_between_two_rows_at_one_time(
    tmp_path: Path, btcusdt: Instrument
) -> None:
    # Quotes at 20 distinct times, 1 to 4 at each: NautilusTrader's catalog refuses files whose
    # time intervals touch, so batches of 3 rows grow to the end of their time.
    repeats = [1, 4, 2, 3, 1, 1, 4, 2, 2, 3, 1, 2, 4, 1, 1, 3, 2, 1, 4, 1]
    rows = [
        f"2024-01-01T00:00:{second:02d}Z,100.{copy},100.9\n"
        for second, count in enumerate(repeats)
        for copy in range(count)
    ]
    parsed = read_quotes(write(tmp_path / "q.csv", QUOTES + "".join(rows)), btcusdt)
    batches = list(parsed.batches(3))
    assert sum(len(batch) for batch in batches) == len(rows)
    for earlier, later in itertools.pairwise(batches):
        assert earlier[-1].ts_init < later[0].ts_init
    catalog = open_catalog(str(tmp_path / "catalog"))
    result = write_data(catalog, parsed, batch_rows=3)
    assert result.written == len(rows)
    files = list((tmp_path / "catalog/data/quote_tick/BTCUSDT.BINANCE").glob("*.parquet"))
    assert len(files) == len(batches)
    assert [_quote(q) for q in catalog.quote_ticks()] == [_quote(q) for q in parsed.data]
