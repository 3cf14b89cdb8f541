"""Checking a gradient source against the oracles: tolerances, classification, verdicts.

Tolerances and blame live here and nowhere else: :mod:`~gradcheck.checking.compare` holds the
tolerance table and the classification, :mod:`~gradcheck.checking.verdict` the records it builds,
:mod:`~gradcheck.checking.verification` runs a candidate and both oracles on one network.
"""
