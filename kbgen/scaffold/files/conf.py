"""Sphinx configuration of this knowledge base: kbgen.sphinx does the rest."""

project = "{{title}}"
extensions = ["kbgen.sphinx"]
