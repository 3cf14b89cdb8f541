"""Test set-up: float64 JAX for the test process, Hypothesis profiles, and the fixtures the test
modules share (the command line, the seed networks; plain helpers are in ``tests/helpers.py``).

``CI=true`` makes Hypothesis load its built-in ``ci`` profile (derandomized, no example
database); ``gradcheck-ci`` extends it with ``deadline=None`` because examples may trigger an
XLA compile. Locally, ``HYPOTHESIS_PROFILE=dev`` runs many more examples.

gradcheck is imported inside the fixtures, so that nothing of it loads before x64 is on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import jax
import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from helpers import RunCli

    from gradcheck.spec import Spec

jax.config.update("jax_enable_x64", True)

settings.register_profile("gradcheck-ci", parent=settings.get_profile("ci"), deadline=None)
settings.register_profile("gradcheck-default", deadline=None, max_examples=40)
settings.register_profile("dev", deadline=None, max_examples=500)
settings.load_profile(
    os.environ.get(
        "HYPOTHESIS_PROFILE", "gradcheck-ci" if os.environ.get("CI") else "gradcheck-default"
    )
)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """``run_cli(args)`` runs ``gradcheck ARGS`` in this process and returns its exit status,
    stdout and stderr (a :class:`helpers.CliResult`); the status is read as Python reads
    ``sys.exit``'s argument (None is 0, a message is 1)."""
    from helpers import CliResult

    from gradcheck.cli import main

    def run(args: list[str]) -> CliResult:
        with pytest.raises(SystemExit) as exited:
            main(args)
        code = exited.value.code
        out, err = capsys.readouterr()
        return CliResult(code if isinstance(code, int) else int(code is not None), out, err)

    return run


@pytest.fixture(scope="session")
def linear_seed() -> Spec:
    """Seed 000, ``networks/linear_2_2_1.toml``."""
    from helpers import seed_spec

    return seed_spec("linear-2-2-1")


@pytest.fixture(scope="session")
def sigmoid_seed() -> Spec:
    """Seed 001, ``networks/sigmoid_2_2_2.toml``."""
    from helpers import seed_spec

    return seed_spec("sigmoid-2-2-2")
