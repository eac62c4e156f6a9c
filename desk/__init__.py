"""desk: side-by-side trials of AI models on your own material."""

__version__ = "0.1.0"
