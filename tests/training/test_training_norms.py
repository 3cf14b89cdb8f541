"""Training networks with norms: the jitted ``lax.scan`` loop matches the NumPy loop step for
step on the built-in MLP with batch_norm and dropout (in float64 and float32: batch statistics
recomputed every step, gamma and beta updated) and on drawn MLPs with each norm. Image networks
with a norm after a conv stage are trained in ``test_training_image_kinds.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_params_close

from gradcheck.generate.norms import NORM_KINDS
from gradcheck.generate.strategies import sample_networks
from gradcheck.hand import train_numpy
from gradcheck.spec import Spec, load_spec, parse_spec
from gradcheck.training.runner import train

TOLERANCE = {"float64": (1e-10, 1e-12), "float32": (2e-4, 1e-5)}
BUILTIN = Path(__file__).resolve().parents[2] / "networks" / "mlp_batchnorm_dropout.toml"


def _assert_loops_match(spec: Spec, steps: int) -> None:
    result = train(spec, steps, device="cpu")
    params, history = train_numpy(spec, steps)
    rtol, atol = TOLERANCE[spec.model.dtype]
    assert_params_close(result.params, params, rtol, atol)
    np.testing.assert_allclose(result.loss_history, history, rtol=rtol, atol=atol)
    assert not np.allclose(params[1]["gamma"], spec.initial_params()[1]["gamma"])  # it trained


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_jax_loop_matches_the_numpy_loop_on_the_builtin_norm_network(dtype: str) -> None:
    data = load_spec(BUILTIN).model.model_dump(exclude_none=True)
    _assert_loops_match(parse_spec({**data, "dtype": dtype}, str(BUILTIN)), 20)


def test_the_jax_loop_matches_the_numpy_loop_on_drawn_networks_with_norms() -> None:
    cases = sample_networks(
        len(NORM_KINDS), 4, kinds=("dense", *NORM_KINDS), dtypes=("float64",), depth=2
    )
    assert {k for c in cases for k in c.spec.kinds} == {"dense", *NORM_KINDS}
    for case in cases:
        result = train(case.spec, 10, device="cpu")
        params, history = train_numpy(case.spec, 10)
        assert_params_close(result.params, params, *TOLERANCE["float64"])
        np.testing.assert_allclose(result.loss_history, history, *TOLERANCE["float64"])


def test_data_parallel_batch_norm_uses_the_global_batchs_statistics() -> None:
    """Split over four host devices, one sample each, the program still normalises over the
    whole batch (jit computes the global function; only the layout is sharded): the same
    parameters and losses as on one device, where per-device statistics of one sample would
    leave beta alone and train nothing below the norm."""
    code = f"""
        import json, numpy as np
        from gradcheck.spec import load_spec
        from gradcheck.training.runner import train
        spec = load_spec({str(BUILTIN)!r})
        one = train(spec, 30, device="cpu")
        four = train(spec, 30, device="cpu", data_parallel=True)
        diff = max(float(np.max(np.abs(a[k] - b[k])))
                   for a, b in zip(one.params, four.params) for k in a)
        moved = float(np.max(np.abs(one.params[0]["W"] - spec.initial_params()[0]["W"])))
        print(json.dumps({{"n": four.n_devices, "diff": diff, "moved": moved,
                           "loss_diff": abs(one.loss - four.loss)}}))
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["n"] == 4 and got["moved"] > 1e-3
    assert got["diff"] < 1e-12 and got["loss_diff"] < 1e-13
