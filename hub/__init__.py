"""The disclosure publishing hub: one canonical record, published once, on every channel."""

__version__ = "0.1.0"
