"""Searches over drawn cases: the draws of :mod:`gradcheck.generate` joined with the checks of
:mod:`gradcheck.checking` (siblings that never import each other), the first failure shrunk to a
minimal case. :mod:`~gradcheck.search.layers`: ``verify_layer``, a course-style layer's
forward/backward pair checked over Hypothesis-drawn shapes and options."""
