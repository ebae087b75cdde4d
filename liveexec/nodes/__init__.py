"""What every NautilusTrader node liveexec builds shares: components and instruments."""

from liveexec.nodes._components import Components, build_components, check_importable
from liveexec.nodes._instruments import build_instrument, defined_instruments

__all__ = [
    "Components",
    "build_components",
    "build_instrument",
    "check_importable",
    "defined_instruments",
]
