"""The notebook pipeline on the bundled data: time per stage, and how much of it is the kernel.

Runs ``liveexec.pipeline.run`` (01_explore, 02_backtest, 04_promote, each a papermill kernel)
on the bundled Binance quotes (the market maker example) into a fresh SQLite database, and, for
the split, a notebook of one empty cell (kernel start-up and shutdown only) and one that only
imports liveexec and NautilusTrader, through the same wrapper. Prints the median of
``--repeat`` rounds.

    python benchmarks/pipeline_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import jupytext  # type: ignore[import-untyped]
import yaml

from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.pipeline import run, run_notebook

EMPTY = "# %%\npass\n"
IMPORTS = "# %%\nimport liveexec.backtesting\nimport liveexec.analysis\nimport liveexec.promotion\n"


def timed_notebook(folder: Path, name: str, text: str) -> float:
    source = folder / f"{name}.py"
    source.write_text(text)
    jupytext.read(source)  # parse check
    started = time.monotonic()
    run_notebook(source, folder / f"{name}.ipynb", {})
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw: dict[str, Any] = yaml.safe_load(
            (EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml").read_text()
        )
        raw["data"]["catalog"]["path"] = str(root / "catalog")
        raw["logging"] = {"directory": str(root / "logs")}
        prepare_demo_catalog(parse_config(raw))
        config = root / "quoter.yaml"
        config.write_text(yaml.safe_dump(raw))
        totals: list[float] = []
        stages: dict[str, list[float]] = {}
        empty: list[float] = []
        imports: list[float] = []
        for round_ in range(args.repeat):
            url = f"sqlite:///{root / f'runs{round_}.db'}"
            upgrade(url)
            started = time.monotonic()
            result = run(config, root / f"out{round_}", database_url=url)
            totals.append(time.monotonic() - started)
            assert result.approved
            for stage in result.stages:
                stages.setdefault(stage.name, []).append(stage.seconds)
            empty.append(timed_notebook(root, f"empty{round_}", EMPTY))
            imports.append(timed_notebook(root, f"imports{round_}", IMPORTS))
    kernel = statistics.median(empty)
    imported = statistics.median(imports)
    total = statistics.median(totals)
    print(f"pipeline (3 notebooks, median of {args.repeat}): {total:.1f} s")
    for name, seconds in stages.items():
        print(f"  {name}: {statistics.median(seconds):.1f} s")
    print(f"kernel start + stop (empty notebook): {kernel:.1f} s per stage")
    print(f"kernel + importing liveexec and NautilusTrader: {imported:.1f} s per stage")
    share = 3 * imported / total
    print(f"kernels and imports: {share:.0%} of the pipeline; liveexec work: {1 - share:.0%}")


if __name__ == "__main__":
    main()
