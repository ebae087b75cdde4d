"""`liveexec data import` end to end: real files in, a catalog out, or exit 3, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.data import open_catalog

ROOT = Path(__file__).resolve().parents[2]
QUOTER = ROOT / "liveexec/examples/simple_quoter_btcusdt_quotes.yaml"
runner = CliRunner(env={"COLUMNS": "200"})
BAR_TYPE = "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL"


def _import(catalog: Path, *args: str, config: Path = QUOTER) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "data",
            "import",
            str(config),
            "--instrument",
            "BTCUSDT.BINANCE",
            "--catalog",
            str(catalog),
            *args,
        ],
    )
    return result.exit_code, result.output


def _files(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_help_explains_options_presets_and_examples() -> None:
    result = runner.invoke(app, ["data", "import", "--help"])
    assert result.exit_code == 0
    shown = " ".join(result.output.split())  # as read, whatever the lines' width
    for text in (
        "--preset",
        "binance-klines",
        "binance-trades",
        "ohlcv",
        "--columns",
        "--timestamp-column",
        "--timestamp-unit",
        "--timestamp-format",
        "--timezone",
        "America/Chicago",
        "--round-to-precision",
        "--bars-stamped-at",
        "--volume",
        "1,000,000",
        "exits 3",
        "Examples",
        "--max-bytes",
        "(default 4 GiB)",
        "--max-rows",
        "(default 20,000,000)",
        "--max-ratio",
        "(default 100)",
        "Only regular files are read",
    ):
        assert text in shown, text
    assert "3 a market data file" in runner.invoke(app, ["--help"]).output


def test_binance_klines_import_writes_bars_stamped_at_close(tmp_path: Path) -> None:
    klines = tmp_path / "BTCUSDT-1m.csv"
    klines.write_text(
        "1704067200000,42283.58,42298.62,42283.57,42298.61,35.92724,1704067259999,"
        "1519297.9,1327,23.5,994003.3,0\n"
        "1704067260000,42298.62,42320.00,42298.61,42320.00,21.12345,1704067319999,"
        "893462.2,1001,11.1,469841.6,0\n"
    )
    code, output = _import(
        tmp_path / "catalog", "--preset", "binance-klines", "--bars", str(klines), "--bar-type",
        BAR_TYPE,
    )  # fmt: skip
    assert code == 0, output
    assert "wrote 2 rows" in output
    assert "epoch milliseconds (detected)" in output
    catalog = open_catalog(str(tmp_path / "catalog"))
    bars = catalog.bars()
    assert [bar.ts_event for bar in bars] == [1_704_067_260 * 10**9, 1_704_067_320 * 10**9]
    assert [str(bar.close) for bar in bars] == ["42298.61", "42320.00"]
    assert [i.id.value for i in catalog.instruments()] == ["BTCUSDT.BINANCE"]


def test_real_quotes_and_trades_import_from_csv_and_parquet(
    tmp_path: Path, shared_data: Path
) -> None:
    catalog = tmp_path / "catalog"
    code, output = _import(catalog, "--trades", str(shared_data / "binance/btcusdt-trades.parquet"))
    assert code == 0, output
    assert "wrote 2,001 rows: trades of BTCUSDT.BINANCE" in output
    # USD/JPY prices (3 decimals) into this config's BTCUSDT (2): rounded only when asked.
    truefx = str(shared_data / "fx/truefx-usdjpy-ticks.csv")
    code, output = _import(catalog, "--quotes", truefx)
    assert code == 3, output
    assert "line 2, column 'bid': '86.655' has more decimals" in " ".join(output.split())
    code, output = _import(catalog, "--quotes", truefx, "--round-to-precision")
    assert code == 0, output
    assert "wrote 1,000 rows: quotes" in output
    prices = [v for line in Path(truefx).read_text().splitlines()[1:] for v in line.split(",")[1:]]
    beyond = sum(len(price.split(".")[1].rstrip("0")) > 2 for price in prices)
    assert f"rounded {beyond:,} values to the instrument's precision" in output
    assert "no size" not in output
    opened = open_catalog(str(catalog))
    assert len(opened.trade_ticks()) == 2_001
    assert len(opened.quote_ticks()) == 1_000


def test_millisecond_times_read_as_nanoseconds_exit_3_and_write_nothing(tmp_path: Path) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text("timestamp,open,high,low,close\n1704067260000,1,2,0.5,1.5\n")
    catalog = tmp_path / "catalog"
    code, output = _import(
        catalog, "--bars", str(bars), "--bar-type", BAR_TYPE, "--timestamp-unit", "ns"
    )
    assert code == 3
    assert "line 2, column 'timestamp'" in output
    assert "looks like milliseconds: use --timestamp-unit ms" in output
    assert "configuration error" not in output
    assert not catalog.exists(), "a refused file must not even create the catalog"


def test_a_failing_import_leaves_an_existing_catalog_as_it_was(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    good = tmp_path / "good.csv"
    good.write_text("timestamp,bid,ask\n2024-01-01T00:00:00Z,100.5,100.6\n")
    assert _import(catalog, "--quotes", str(good))[0] == 0
    before = _files(catalog)
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,bid,ask\n2024-01-02T00:00:00Z,100.5,100.6\n2024-01-02T00:00:01Z,,1\n")
    code, output = _import(catalog, "--quotes", str(bad))
    assert code == 3
    assert "line 3, column 'bid': no value" in output
    assert "expected layout" in output
    again, output = _import(catalog, "--quotes", str(good))
    assert again == 3
    assert "already holds quotes" in output
    assert _files(catalog) == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--quotes", "q.csv", "--preset", "binance-klines"], "reads bars, not quotes"),
        (["--quotes", "q.csv", "--bar-type", BAR_TYPE], "exactly one of"),
        (["--bars", "b.csv"], "exactly one of"),
        (["--bid", "b.csv"], "exactly one of"),
        (["--bars", "b.csv", "--bar-type", "nonsense"], "--bar-type"),
        (["--quotes", "q.csv", "--columns", "timestamp,,ask"], "empty name"),
        (["--quotes", "q.csv", "--timestamp-unit", "ms", "--timestamp-format", "%Y"], "numeric"),
        (["--trades", "q.csv", "--volume", "5"], "--volume do not apply to trades"),
        (["--quotes", "q.csv", "--bars-stamped-at", "open"], "--bars-stamped-at do not apply"),
        (["--quotes", "q.csv", "--max-bytes", "lots"], "'lots' is not a size"),
        (["--quotes", "q.csv", "--max-rows", "0"], "max_rows must be positive"),
        (["--quotes", "q.csv", "--max-ratio", "0.5"], "max_ratio must be 1 or more"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    for name in ("q.csv", "b.csv"):
        (tmp_path / name).write_text(
            "timestamp,open,high,low,close,bid,ask\n2024-01-01T00:01:00Z,1,2,0.5,1,1,2\n"
        )
    args = [str(tmp_path / a) if a.endswith(".csv") else a for a in args]
    code, output = _import(tmp_path / "catalog", *args)
    assert code == 2, output
    assert words in output
    assert not (tmp_path / "catalog").exists()


def test_an_instrument_the_config_does_not_define_exits_2(tmp_path: Path) -> None:
    quotes = tmp_path / "q.csv"
    quotes.write_text("timestamp,bid,ask\n2024-01-01T00:00:00Z,1,2\n")
    result = runner.invoke(
        app,
        ["data", "import", str(QUOTER), "--instrument", "ETH.SIM", "--quotes", str(quotes)],
    )
    assert result.exit_code == 2
    assert "ETH.SIM is not defined" in result.output
    assert "BTCUSDT.BINANCE" in result.output  # what the config does define


def test_futures_contract_data_import(tmp_path: Path) -> None:
    raw = yaml.safe_load(QUOTER.read_text())
    raw["venues"][0]["name"] = "XCME"
    raw["venues"][0]["starting_balances"] = ["1000000 USD"]
    raw["strategies"][0]["config"]["instrument_id"] = "ESZ5.XCME"
    raw["instruments"] = [
        {
            "kind": "futures_contract",
            "id": "ESZ5.XCME",
            "underlying": "ES",
            "asset_class": "INDEX",
            "currency": "USD",
            "price_precision": 2,
            "price_increment": "0.25",
            "multiplier": "50",
            "activation": "2024-06-21T13:30:00Z",
            "expiration": "2025-12-19T14:30:00Z",
        }
    ]
    raw["data"]["streams"] = [{"kind": "quotes", "instrument_id": "ESZ5.XCME"}]
    config = tmp_path / "es.yaml"
    config.write_text(yaml.safe_dump(raw))
    bars = tmp_path / "es.csv"
    bars.write_text("1734998400,5990.25,5991.00,5989.50,5990.75,1200\n")  # on a whole minute
    result = runner.invoke(
        app,
        [
            "data", "import", str(config), "--instrument", "ESZ5.XCME", "--catalog",
            str(tmp_path / "catalog"), "--bars", str(bars), "--bar-type",
            "ESZ5.XCME-1-MINUTE-LAST-EXTERNAL", "--columns", "time,open,high,low,close,volume",
            "--timestamp-column", "time", "--timestamp-unit", "s",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    catalog = open_catalog(str(tmp_path / "catalog"))
    (future,) = catalog.instruments()
    assert type(future).__name__ == "FuturesContract"
    assert catalog.bars()[0].ts_event == 1_734_998_400 * 10**9


def test_bars_without_volume_get_nautilus_default_volume_not_zero(tmp_path: Path) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "timestamp,open,high,low,close\n"
        "2024-01-01 00:01:00,42283.58,42298.62,42283.57,42298.61\n"
        "2024-01-01 00:02:00,42298.61,42320.00,42298.61,42320.00\n"
    )
    code, output = _import(tmp_path / "catalog", "--bars", str(bars), "--bar-type", BAR_TYPE)
    assert code == 0, output
    bars_written = open_catalog(str(tmp_path / "catalog")).bars()
    assert [float(bar.volume) for bar in bars_written] == [1_000_000.0, 1_000_000.0]


def test_millisecond_epochs_under_a_header_are_not_read_as_1970(tmp_path: Path) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "timestamp,open,high,low,close,volume\n"
        "1704067260000,42283.58,42298.62,42283.57,42298.61,3.5\n"
    )
    code, output = _import(tmp_path / "catalog", "--bars", str(bars), "--bar-type", BAR_TYPE)
    assert code == 0, output
    (bar,) = open_catalog(str(tmp_path / "catalog")).bars()
    assert bar.ts_event == 1_704_067_260 * 10**9  # 2024-01-01T00:01:00Z


# --- mistakes caught instead of run (issue 20) ---------------------------------------------------


def test_five_minute_bars_under_a_one_minute_bar_type_exit_3(tmp_path: Path) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text(
        "timestamp,open,high,low,close\n"
        "2024-01-01T00:05:00Z,1,2,0.5,1.5\n"
        "2024-01-01T00:10:00Z,1,2,0.5,1.5\n"
        "2024-01-01T00:15:00Z,1,2,0.5,1.5\n"
    )
    catalog = tmp_path / "catalog"
    code, output = _import(catalog, "--bars", str(bars), "--bar-type", BAR_TYPE)
    assert code == 3, output
    shown = " ".join(output.split())
    assert str(bars) in shown
    assert "bars are 5 minutes apart: the smallest gap is between lines 2 and 3" in shown
    assert "the bar type says 1-MINUTE" in shown
    assert not catalog.exists()
    five = BAR_TYPE.replace("-1-MINUTE-", "-5-MINUTE-")
    code, output = _import(catalog, "--bars", str(bars), "--bar-type", five)
    assert code == 0, output
    assert "wrote 3 rows" in output


def test_extra_decimals_exit_3_unless_rounded_on_purpose(tmp_path: Path) -> None:
    quotes = tmp_path / "q.csv"
    quotes.write_text(
        "timestamp,bid,ask\n2024-01-01T00:00:00Z,100.50,100.60\n2024-01-01T00:00:01Z,100.505,100.6\n"
    )
    catalog = tmp_path / "catalog"
    code, output = _import(catalog, "--quotes", str(quotes))
    shown = " ".join(output.split())
    assert code == 3, output
    assert "line 3, column 'bid': '100.505' has more decimals than the instrument's price" in shown
    assert "precision (2)" in shown
    assert not catalog.exists()
    code, output = _import(catalog, "--quotes", str(quotes), "--round-to-precision")
    assert code == 0, output
    assert "rounded 1 value to the instrument's precision" in output
    assert "wrote 2 rows" in output
    assert len(open_catalog(str(catalog)).quote_ticks()) == 2


def test_local_exchange_times_with_a_timezone_and_fractions(tmp_path: Path) -> None:
    quotes = tmp_path / "q.csv"
    # Chicago: 2024-03-09 is CST (-6), 2024-03-11 CDT (-5).
    quotes.write_text(
        "time,bid,ask\n"
        "09/03/2024 12:00:00.250,100.5,100.6\n"
        "11/03/2024 12:00:00.123456,100.5,100.6\n"
    )
    args = ["--quotes", str(quotes), "--timestamp-column", "time"]
    fmt = ["--timestamp-format", "%d/%m/%Y %H:%M:%S.%f"]
    catalog = tmp_path / "catalog"
    code, output = _import(catalog, *args, *fmt, "--timezone", "America/Chicago")
    assert code == 0, output
    assert "2024-03-09T18:00:00.250000+00:00 to 2024-03-11T17:00:00.123456+00:00" in output
    code, output = _import(tmp_path / "other", *args, *fmt, "--timezone", "Chicago")
    assert code == 2, output
    assert "neither an IANA name" in output
    assert not (tmp_path / "other").exists()
