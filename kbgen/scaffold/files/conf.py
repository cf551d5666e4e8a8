"""Sphinx configuration of this knowledge base: kbgen.sphinxext does the rest."""

project = "{{title}}"
extensions = ["kbgen.sphinxext"]
