"""wangge (网格): a platform for grid-based grassroots governance."""

__version__ = "0.1.0"
