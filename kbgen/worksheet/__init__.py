"""Session worksheets: the YAML record of one research session.

``kbgen session start`` writes one prefilled from the plan
(:mod:`~kbgen.worksheet.template`); the researcher fills it in; ``kbgen
record`` checks it (:mod:`~kbgen.worksheet.model` for YAML and schema,
:mod:`kbgen.record` against the database) and writes it in one transaction.
"""

from kbgen.worksheet.model import (
    AnswerLink,
    DependencyEntry,
    FileRef,
    FindingEntry,
    QuestionEntry,
    ReadEntry,
    TagEntry,
    Worksheet,
    WorksheetInvalid,
    parse_session,
    parse_worksheet,
    parse_worksheet_file,
)
from kbgen.worksheet.yamlmarks import Problem

__all__ = [
    "AnswerLink",
    "DependencyEntry",
    "FileRef",
    "FindingEntry",
    "Problem",
    "QuestionEntry",
    "ReadEntry",
    "TagEntry",
    "Worksheet",
    "WorksheetInvalid",
    "parse_session",
    "parse_worksheet",
    "parse_worksheet_file",
]
