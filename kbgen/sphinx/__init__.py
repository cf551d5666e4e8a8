"""The extension's former name: ``extensions = ["kbgen.sphinx"]`` keeps working.

kbgen's Sphinx integration lives in :mod:`kbgen.sphinxext`; conf.py files
written before it moved still name this module.
"""

from __future__ import annotations

from kbgen.sphinxext import setup

__all__ = ["setup"]
