"""Checking a gradient source against the oracles: tolerances, classification, verdicts.

Tolerances and blame live here and nowhere else: :mod:`~gradcheck.checking.tolerances` holds
the tolerance table and formulas, :mod:`~gradcheck.checking.compare` the classification
(:mod:`~gradcheck.checking.joint` the entries at a kink judged together),
:mod:`~gradcheck.checking.verdict` the records it builds; :mod:`~gradcheck.checking.verification`
runs a candidate (:mod:`~gradcheck.checking.candidates` loads one by name) and both oracles on
one network, :mod:`~gradcheck.checking.junit` writes the verdicts for CI,
:mod:`~gradcheck.checking.replays` saves a failing generated network to check again, and
:mod:`~gradcheck.checking.training_agreement` judges whether two training runs agree.
"""
