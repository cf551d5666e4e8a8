"""Sphinx configuration of the example knowledge base: kbgen.sphinx does the rest."""

project = "quillc research — example knowledge base"
extensions = ["kbgen.sphinx"]
