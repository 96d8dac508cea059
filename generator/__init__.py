"""Rugzak: a static site generator for Open Badges 2.0 and 3.0."""

__version__ = "0.1.0"
