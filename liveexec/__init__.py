"""liveexec: one typed config takes a NautilusTrader strategy from research to live trading."""

from liveexec._version import __version__

__all__ = ["__version__"]
