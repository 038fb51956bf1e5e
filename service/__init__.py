"""Counterpoint: each side's competing account of a dispute, point by point, quoted verbatim."""

__version__ = "0.1.0"
