"""gradcheck: prove hand-derived backpropagation right or wrong.

Networks are TOML data (:mod:`gradcheck.spec.network`); the hand-derived gradients
(:mod:`gradcheck.hand.backprop`) are checked against finite differences and JAX
(:mod:`gradcheck.oracles`), compared with dtype-aware tolerances (:mod:`gradcheck.checking.compare`)
and rendered as a report (:mod:`gradcheck.report.render`). Check your own gradient function with
``from gradcheck.checking.verification import verify``.

Importing gradcheck neither imports JAX nor changes any global JAX setting.
"""

from gradcheck.spec import GradcheckError, Params, Spec, SpecError, load_spec, parse_spec

__all__ = ["GradcheckError", "Params", "Spec", "SpecError", "load_spec", "parse_spec"]
__version__ = "0.1.0"
