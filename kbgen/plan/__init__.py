"""Execution plans: the markdown a research session starts from, as plain data.

``parse_plan``/``parse_plan_file`` read a plan into a ``Plan`` (see
``model.py``); ``check_against_inventory`` adds the one warning that needs
the research database. Nothing here imports Sphinx or touches a database.
"""

from kbgen.plan.checks import check_against_inventory
from kbgen.plan.model import (
    INFO_CODES,
    PLACEHOLDER_MARK,
    QUESTION_PLACEHOLDER,
    Cluster,
    ClusterQuestion,
    DomainTag,
    Plan,
    PlannedFile,
    PlanWarning,
    Question,
)
from kbgen.plan.parser import parse_plan, parse_plan_file

__all__ = [
    "INFO_CODES",
    "PLACEHOLDER_MARK",
    "QUESTION_PLACEHOLDER",
    "Cluster",
    "ClusterQuestion",
    "DomainTag",
    "Plan",
    "PlanWarning",
    "PlannedFile",
    "Question",
    "check_against_inventory",
    "parse_plan",
    "parse_plan_file",
]
