"""Test set-up: float64 JAX for the test process, and Hypothesis profiles.

``CI=true`` makes Hypothesis load its built-in ``ci`` profile (derandomized, no example
database); ``gradcheck-ci`` extends it with ``deadline=None`` because examples may trigger an
XLA compile. Locally, ``HYPOTHESIS_PROFILE=dev`` runs many more examples.
"""

from __future__ import annotations

import os

import jax
from hypothesis import settings

jax.config.update("jax_enable_x64", True)

settings.register_profile("gradcheck-ci", parent=settings.get_profile("ci"), deadline=None)
settings.register_profile("gradcheck-default", deadline=None, max_examples=40)
settings.register_profile("dev", deadline=None, max_examples=500)
settings.load_profile(
    os.environ.get(
        "HYPOTHESIS_PROFILE", "gradcheck-ci" if os.environ.get("CI") else "gradcheck-default"
    )
)
