"""Sphinx configuration of the example knowledge base: kbgen.sphinxext does the rest."""

project = "quillc research — example knowledge base"
extensions = ["kbgen.sphinxext"]
