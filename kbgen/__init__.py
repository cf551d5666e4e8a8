"""kbgen: turn a code-research ledger into a navigable, published knowledge base."""

__version__ = "0.1.0"
