"""Helpers the test modules share: the built-in networks (always read from the ``networks/``
folder, never pinned, so adding a network breaks no unrelated test), a builder for small
networks, a candidate with one entry scaled, and comparisons of ``Params``.

Imported as ``from helpers import ...``, like ``planted``: pytest puts ``tests/`` on ``sys.path``.
The fixtures built on these live in ``tests/conftest.py``.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from gradcheck.hand import hand_grads
from gradcheck.spec import (
    Array,
    GradientFn,
    Params,
    Spec,
    builtin_networks_dir,
    load_spec,
    parse_spec,
)


class CliResult(NamedTuple):
    """What ``gradcheck ARGS`` did: exit status, stdout and stderr."""

    status: int
    out: str
    err: str


# The ``run_cli`` fixture's type: ``run_cli(args)`` runs ``gradcheck ARGS`` in this process.
RunCli = Callable[[list[str]], CliResult]


# -- the built-in networks -------------------------------------------------------------------
def builtin_paths() -> list[Path]:
    """Every built-in network file, in the order the commands load them (sorted)."""
    return sorted(builtin_networks_dir().glob("*.toml"))


@functools.cache
def builtin_specs() -> tuple[Spec, ...]:
    """Every built-in network, loaded once per process (a Spec is immutable)."""
    return tuple(load_spec(path) for path in builtin_paths())


def builtin_names() -> list[str]:
    """The built-in networks' names, in load order."""
    return [s.name for s in builtin_specs()]


def seed_spec(name: str) -> Spec:
    """The built-in network called ``name`` (``"linear-2-2-1"``, ``"sigmoid-2-2-2"``)."""
    (found,) = [s for s in builtin_specs() if s.name == name]
    return found


def seed_path(name: str) -> Path:
    """The file of the built-in network called ``name``."""
    return Path(seed_spec(name).path)


def linear_with_documented(documented: list[dict[str, str]]) -> Spec:
    """The linear seed network with its ``[[documented]]`` values replaced by ``documented``."""
    data = tomllib.loads(seed_path("linear-2-2-1").read_text())
    data["documented"] = documented
    return parse_spec(data, "synthetic.toml")


# -- small networks built in the tests -------------------------------------------------------
def make_spec(
    layers: list[dict[str, Any]],
    inputs: Sequence[Sequence[float]],
    targets: Sequence[Sequence[float]],
    *,
    name: str = "test-net",
    loss: str = "half_sse",
    dtype: str = "float64",
    learning_rate: float = 0.1,
    path: str = "<test>",
    **overrides: Any,
) -> Spec:
    """A spec from layer tables and one sample per ``(input, target)`` pair; the input size is
    the first input's length. ``overrides`` replace top-level fields (``input=...``)."""
    data: dict[str, Any] = {
        "name": name,
        "dtype": dtype,
        "loss": loss,
        "optimizer": {"learning_rate": learning_rate},
        "input": {"size": len(inputs[0])},
        "layers": layers,
        "samples": [
            {"input": [float(v) for v in i], "target": [float(v) for v in t]}
            for i, t in zip(inputs, targets, strict=True)
        ],
        **overrides,
    }
    return parse_spec(data, path)


def wide_3_4_2_toml(name: str) -> str:
    """A 3-4-2 linear network, 20 weights and no biases, as TOML text."""
    return f"""
name = "{name}"
loss = "half_sse"
[optimizer]
name = "sgd"
learning_rate = 0.1
[input]
size = 3
[[layers]]
size = 4
activation = "identity"
weights = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [1.0, 1.1, 1.2]]
[[layers]]
size = 2
activation = "identity"
weights = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]]
[[samples]]
input = [1.0, 2.0, 3.0]
target = [0.5, -0.5]
"""


# A candidate file's text: every gradient doubled, so every nonzero entry fails.
DOUBLED_CANDIDATE = """
from gradcheck.hand import hand_grads

def grads(spec, params, inputs, targets):
    grads = hand_grads(spec, params, inputs, targets)
    return [{k: 2 * g for k, g in layer.items()} for layer in grads]
"""


def scaled_output_candidate(name: str = "grads") -> str:
    """Source of a candidate ``name`` with a planted bug: the output layer's W gradient x 1.5."""
    return f"""
from gradcheck.hand import hand_grads

def {name}(spec, params, inputs, targets):
    grads = hand_grads(spec, params, inputs, targets)
    if "W" in grads[-1]:
        grads[-1]["W"] = 1.5 * grads[-1]["W"]  # planted: the output layer's weights scaled
    return grads
"""


# -- candidates and comparisons --------------------------------------------------------------
def changed(group: tuple[int, str], index: Any, factor: float) -> GradientFn:
    """hand_grads with ``grads[layer][group][index] *= factor``."""

    def candidate(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        grads[group[0]][group[1]][index] *= factor
        return grads

    return candidate


def assert_params_close(got: Params, want: Params, rtol: float, atol: float) -> None:
    """The same groups in each layer, the same shapes, and values within ``rtol``/``atol``."""
    assert [sorted(g) for g in got] == [sorted(w) for w in want]
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        for k in w:
            assert np.shape(g[k]) == np.shape(w[k]), f"layers[{i}].{k} shape"
            np.testing.assert_allclose(g[k], w[k], rtol=rtol, atol=atol, err_msg=f"layers[{i}].{k}")


def assert_params_equal(got: Params, want: Params) -> None:
    """The same groups in each layer, each array with the same dtype and bit for bit equal."""
    assert [sorted(g) for g in got] == [sorted(w) for w in want]
    for g, w in zip(got, want, strict=True):
        for k in w:
            assert g[k].dtype == w[k].dtype
            np.testing.assert_array_equal(g[k], w[k])


def assert_one_error_line(err: str, *fragments: str) -> None:
    """``err`` is one ``gradcheck: error: ...`` line, no traceback, holding every fragment."""
    assert err.count("\n") == 1 and err.startswith("gradcheck: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def assert_one_spec_error(data: dict[str, Any], *fragments: str) -> None:
    """Loading ``data`` as ``net.toml`` raises one line naming the file and every fragment."""
    from gradcheck.spec import SpecError

    try:
        parse_spec(data, "net.toml")
    except SpecError as err:
        message = str(err)
    else:
        raise AssertionError("the spec loaded")
    assert message.startswith("net.toml: ") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


# -- three sides on one network ----------------------------------------------------------------
THREE_SIDES_RTOL = {"float64": 1e-9, "float32": 2e-3}


def assert_three_sides_agree(case: Any) -> None:
    """Hand-derived = JAX to the dtype's rounding of the terms each entry sums (the error model's
    magnitudes), and = the float64 finite differences within their own error estimate."""
    from gradcheck.oracles.finite_differences import finite_difference
    from gradcheck.oracles.jax_grad import jax_grads

    spec = case.spec
    hand, jax = hand_grads(*case), jax_grads(*case)
    fd = finite_difference(*case)
    rtol = THREE_SIDES_RTOL[spec.model.dtype]
    for i, layer in enumerate(hand):
        assert layer.keys() == jax[i].keys() == case.params[i].keys()
        for group, got in layer.items():
            terms = fd.scales[i][group]
            assert got.dtype == spec.dtype and got.shape == case.params[i][group].shape
            assert np.all(np.abs(got - jax[i][group]) <= rtol * terms), (spec.kinds, i, group)
            slack = 3.0 * fd.errors[i][group] + rtol * terms
            assert np.all(np.abs(got - fd.values[i][group]) <= slack), (spec.kinds, i, group)
