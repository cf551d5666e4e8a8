"""Rendering: model values → MyST text. Pure functions, no I/O, no Sphinx."""
