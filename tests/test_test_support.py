"""The test suite's own support: a failing randomised test tells how to replay it."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = 'pytest_plugins = ["tests.seeds"]\n'


def test_a_failing_test_prints_its_random_seed(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it="""
        def test_unlucky(seeded_random):
            assert seeded_random.random() > 2
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*random seed*", "KBGEN_TEST_SEED=* replays this run"])
    seed = next(line.split("=")[1].split()[0] for line in result.outlines if line.startswith("KBGEN_TEST_SEED="))
    replay = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-s")
    replay.assert_outcomes(failed=1)
    # The same seed, given back, gives the same run.
    pytester.makepyfile(test_it=f"""
        import random
        def test_same(seeded_random):
            assert seeded_random.random() == random.Random({seed}).random()
    """)
    monkey = pytest.MonkeyPatch()
    monkey.setenv("KBGEN_TEST_SEED", seed)
    try:
        pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    finally:
        monkey.undo()


def test_a_failing_property_prints_how_to_reproduce_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it="""
        from hypothesis import given, settings, strategies as st

        @settings(database=None)
        @given(st.integers())
        def test_small(n):
            assert n < 10
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Failing test case*", "*@reproduce_failure(*"])
