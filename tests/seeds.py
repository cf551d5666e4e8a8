"""Randomised tests that say how to replay them (a pytest plugin, loaded by conftest.py).

* Hypothesis prints the falsifying example and, with ``print_blob``, the
  ``@reproduce_failure`` line that replays it exactly; ``pytest --hypothesis-seed=N``
  fixes the search itself.
* Tests that draw their own random choices take the ``seeded_random`` fixture: a fresh
  seed each run (so runs explore), printed in the failure report, and replayed with
  ``KBGEN_TEST_SEED=<seed>``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Generator

import pytest
from hypothesis import settings

settings.register_profile("kbgen", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kbgen"))

#: Set to replay a test that uses ``seeded_random`` with the seed its failure printed.
SEED_VARIABLE = "KBGEN_TEST_SEED"


@pytest.fixture
def seeded_random(request: pytest.FixtureRequest) -> random.Random:
    """A random generator with a fresh seed per run (or $KBGEN_TEST_SEED), printed when the test fails."""
    seed = int(os.environ.get(SEED_VARIABLE) or random.SystemRandom().randrange(2**32))
    request.node.user_properties.append(("seed", seed))
    return random.Random(seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    seeds = [value for name, value in item.user_properties if name == "seed"]
    if seeds and report.failed:
        report.sections.append(("random seed", f"{SEED_VARIABLE}={seeds[0]} replays this run"))
    return report
