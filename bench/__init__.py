"""Benchmarks (``python bench/run.py``, ``make bench``) and the synthetic data they run on.

:mod:`bench.synthetic` generates campaign-scale research databases. It is not
part of the installed package (a user never runs it, and kbgen's code digest
must not change when it does); the benchmarks and the test suite import it
from the repository checkout (pytest puts the repository root on ``sys.path``).
"""
