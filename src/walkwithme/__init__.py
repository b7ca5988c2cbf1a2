"""Walk With Me: a self-hosted service that walks people home."""

__version__ = "0.1.0"
