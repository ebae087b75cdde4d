"""The ``liveexec`` command line."""

from liveexec.cli._app import app, main

__all__ = ["app", "main"]
