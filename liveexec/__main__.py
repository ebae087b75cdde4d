"""``liveexec`` (the console script) and ``python -m liveexec``.

The command line imports typer and rich before it can parse anything: a Ctrl-C then ends the
command like any other interrupt (``interrupted``, exit 130), not with a traceback from deep
inside an import. What takes seconds (NautilusTrader, polars, SQLAlchemy) is imported by each
command once parsed, where a Ctrl-C exits 130 as anywhere in a command.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130


def main() -> None:
    try:
        from liveexec.cli import main as cli_main  # noqa: PLC0415 (the import is what is guarded)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    cli_main()


if __name__ == "__main__":
    main()
