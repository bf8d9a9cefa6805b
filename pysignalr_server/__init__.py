"""pysignalr-server (public API assembled in later modules)."""
from ._version import __version__

__all__ = ["__version__"]
