"""gradcheck: prove hand-derived backpropagation right or wrong.

Networks are TOML data (:mod:`gradcheck.spec`); the hand-derived gradients
(:mod:`gradcheck.backprop`) are checked against finite differences and JAX
(:mod:`gradcheck.oracles`), compared with dtype-aware tolerances (:mod:`gradcheck.compare`)
and rendered as a report (:mod:`gradcheck.report`). Check your own gradient function with
``from gradcheck.verify import verify``.

Importing gradcheck neither imports JAX nor changes any global JAX setting.
"""

from gradcheck.spec import GradcheckError, Params, Spec, SpecError, load_spec, parse_spec

__all__ = ["GradcheckError", "Params", "Spec", "SpecError", "load_spec", "parse_spec"]
__version__ = "0.1.0"
