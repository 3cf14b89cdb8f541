"""The layer oracles: the bucketed JAX vjp equals the vjp at the case's own shape, and the
finite differences of a forward find a derivative within their error estimate."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradcheck.generate.layer_draws import layer_arrays
from gradcheck.oracles.jax_layers import JAX_LAYERS
from gradcheck.oracles.layer_fd import directional_derivative, inner_product_noise
from gradcheck.oracles.layer_vjp import reference_vjp
from gradcheck.spec.layer_contract import LAYER_CONTRACTS

# Where the bucket does the most: a stride with a remainder and padding; an axis filled by
# repetition (every kind is also held to correct course layers in tests/checking).
CASES: list[tuple[str, dict[str, Any]]] = [
    ("conv2d", {"N": 2, "C": 2, "H": 7, "W": 6, "F": 3, "HH": 3, "WW": 2, "stride": 2, "pad": 1}),
    ("layer_norm", {"N": 2, "D": 3, "eps": 1e-5}),
]


@pytest.mark.parametrize(("kind", "knobs"), CASES, ids=[k for k, _ in CASES])
def test_the_bucketed_vjp_is_the_vjp_at_the_cases_own_shape(
    kind: str, knobs: dict[str, Any]
) -> None:
    case = {**knobs, "data_seed": 3}
    arrays = layer_arrays(kind, case, "float64")
    out, grads = reference_vjp(kind, case, arrays, "float64")
    contract = LAYER_CONTRACTS[kind]
    names = contract.arguments()

    def forward(*primals: Any) -> Any:
        x, params, options = contract.reference(
            {**arrays, **dict(zip(names, primals, strict=True))}, case
        )
        return JAX_LAYERS[kind](x, params, options)

    def pullback(primals: tuple[Any, ...], dout: Any) -> Any:
        out, pull = jax.vjp(forward, *primals)
        return out, pull(dout)

    with jax.enable_x64(True):  # one compile, not one per primitive
        primals = tuple(jnp.asarray(arrays[n]) for n in names)
        own_out, own = jax.jit(pullback)(primals, jnp.asarray(arrays["dout"]))
    np.testing.assert_allclose(out, own_out, rtol=1e-12, atol=1e-13)
    for name, expected in zip(names, own, strict=True):
        np.testing.assert_allclose(grads[name], expected, rtol=1e-11, atol=1e-12, err_msg=name)


def test_the_vjp_runs_in_the_cases_dtype() -> None:
    case = {"N": 2, "D": 3, "p": 0.5, "data_seed": 0}
    arrays = layer_arrays("dropout", case, "float32")
    out, grads = reference_vjp("dropout", case, arrays, "float32")
    assert out.dtype == np.float32 and grads["x"].dtype == np.float32


def test_directional_derivative_of_a_smooth_function_is_within_its_estimate() -> None:
    phi = np.sin
    value, error = directional_derivative(
        lambda t: float(phi(0.3 + t)), 1e-3, float(phi(0.3)), 1e-16
    )
    assert abs(value - np.cos(0.3)) <= error
    assert abs(value - np.cos(0.3)) < 1e-10 and error < 1e-6  # R is far better than D(h)


def test_noise_grows_with_the_terms_summed() -> None:
    small = inner_product_noise(np.ones(3), np.ones(3))
    assert inner_product_noise(np.ones(3), 1e6 * np.ones(3)) == pytest.approx(1e6 * small)
