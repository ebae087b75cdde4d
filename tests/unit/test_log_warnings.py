"""Counting a run's warnings by kind in NautilusTrader's log file format."""

from __future__ import annotations

from pathlib import Path

from liveexec.nodes._logs import count_warnings

LOG = """\
2021-01-08T00.8730Z [WARN] TRADER-001.EMACross: Bar OHLC is single price; no market information
2021-01-08T00.9000Z [INFO] TRADER-001.EMACross: Bar OHLC is single price; not a warning
2021-01-08T01.1000Z [WARN] TRADER-001.RiskEngine: SubmitOrder for O-20210108-000001-001-000-1 DENIED
2021-01-08T02.1000Z [WARN] TRADER-001.EMACross: Bar OHLC is single price; no market information
2021-01-08T03.1000Z [WARN] TRADER-001.RiskEngine: SubmitOrder for O-20210108-000003-001-000-2 DENIED
  a continuation line mentioning [WARN] without the format
2021-01-08T04.1000Z [ERROR] TRADER-001.EMACross: something broke
2021-01-08T05.1000Z [WARN] TRADER-001.Other: Bar OHLC is single price; no market information
2021-01-08T06.1000Z [WARN] TRADER-001.EMACross: Bar OHLC is single price; no market information
"""


def test_warnings_are_counted_by_component_and_message_numbers_aside(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    path.write_text(LOG)
    found = count_warnings(path)
    assert found.total == 6
    assert found.kinds == (
        ("Bar OHLC is single price; no market information", 3),
        ("SubmitOrder for O-20210108-000001-001-000-1 DENIED", 2),  # the first of its kind
        ("Bar OHLC is single price; no market information", 1),  # another component
    )
    assert found.text() == (
        "6 (3 'Bar OHLC is single price; no market information'; "
        "2 'SubmitOrder for O-20210108-000001-001-000-1 DENIED'; "
        f"1 'Bar OHLC is single price; no market information'; see {path})"
    )


def test_long_messages_and_many_kinds_are_shortened(tmp_path: Path) -> None:
    path = tmp_path / "run.log"
    lines = [f"t [WARN] T.C{i}: {chr(65 + i) * 80}" for i in range(5)]
    path.write_text("\n".join(lines) + "\n")
    text = count_warnings(path).text()
    assert text.startswith(f"5 (1 '{'A' * 57}...'; 1 '{'B' * 57}...'; 1 '{'C' * 57}...'; ")
    assert text.endswith(f"2 more kinds; see {path})")
