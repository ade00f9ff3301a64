"""sitegen: a static site generator for verifiable course certificates."""

__version__ = "0.1.0"
