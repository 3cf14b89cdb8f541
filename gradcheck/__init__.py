"""gradcheck: prove hand-derived backpropagation right or wrong.

The public surface is this namespace::

    from gradcheck import load_spec, verify, networks
    verdict = verify(my_grads, load_spec("net.toml"))

The flow, one subpackage per step (imports run one way, down this list):

* :mod:`gradcheck.layers`: what exists by name (layer kinds, activations, losses, update rules);
* :mod:`gradcheck.spec`: a network as TOML data, validated once, frozen;
* :mod:`gradcheck.hand` (the code under test) | :mod:`gradcheck.oracles` (finite differences,
  JAX, the error model): independent sides that share nothing;
* :mod:`gradcheck.checking` (tolerances, blame, verdicts), :mod:`gradcheck.generate`
  (Hypothesis strategies), :mod:`gradcheck.golden` (documents' numbers),
  :mod:`gradcheck.training` (compiled JAX training);
* :mod:`gradcheck.report`, then :mod:`gradcheck.cli` and :mod:`gradcheck.pytest_plugin`.

Importing gradcheck neither imports JAX nor changes any global JAX setting: the names below load
their module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gradcheck.errors import GradcheckError, SpecError, Unsupported
from gradcheck.layers import UnknownName
from gradcheck.spec import (
    GradientFn,
    Params,
    Spec,
    load_spec,
    load_specs,
    parse_spec,
    spec_json_schema,
    spec_to_toml,
)
from gradcheck.spec.family import Family, load_family

if TYPE_CHECKING:
    from gradcheck.checking.layer_verdict import LayerVerdict
    from gradcheck.checking.verdict import NetworkVerdict
    from gradcheck.checking.verification import verify
    from gradcheck.generate.case import Case
    from gradcheck.generate.strategies import networks, sample_networks
    from gradcheck.golden.judging import GoldenRecord, check_spec
    from gradcheck.hand import hand_grads
    from gradcheck.oracles import finite_difference_grads, jax_grads
    from gradcheck.search.layers import verify_layer
    from gradcheck.training.runner import TrainResult, train

__all__ = [
    "Case",
    "Family",
    "GoldenRecord",
    "GradcheckError",
    "GradientFn",
    "LayerVerdict",
    "NetworkVerdict",
    "Params",
    "Spec",
    "SpecError",
    "TrainResult",
    "UnknownName",
    "Unsupported",
    "check_spec",
    "finite_difference_grads",
    "hand_grads",
    "jax_grads",
    "load_family",
    "load_spec",
    "load_specs",
    "networks",
    "parse_spec",
    "sample_networks",
    "spec_json_schema",
    "spec_to_toml",
    "train",
    "verify",
    "verify_layer",
]
__version__ = "0.1.0"

_LAZY = {
    "NetworkVerdict": "gradcheck.checking.verdict",
    "verify": "gradcheck.checking.verification",
    "verify_layer": "gradcheck.search.layers",
    "LayerVerdict": "gradcheck.checking.layer_verdict",
    "Case": "gradcheck.generate.case",
    "networks": "gradcheck.generate.strategies",
    "sample_networks": "gradcheck.generate.strategies",
    "GoldenRecord": "gradcheck.golden.judging",
    "check_spec": "gradcheck.golden.judging",
    "hand_grads": "gradcheck.hand",
    "finite_difference_grads": "gradcheck.oracles",
    "jax_grads": "gradcheck.oracles",
    "TrainResult": "gradcheck.training.runner",
    "train": "gradcheck.training.runner",
}


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'gradcheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
