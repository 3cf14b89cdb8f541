"""The public surface: one namespace, every documented name importable, no JAX on import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gradcheck


@pytest.mark.parametrize("name", gradcheck.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(gradcheck, name) is not None
    assert name in dir(gradcheck)


def test_public_names_are_the_objects_their_modules_define() -> None:
    from gradcheck.checking.verification import verify
    from gradcheck.generate.strategies import networks

    assert gradcheck.verify is verify and gradcheck.networks is networks


def test_an_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'verfy'"):
        _ = gradcheck.verfy  # type: ignore[attr-defined]


def test_importing_gradcheck_imports_no_jax() -> None:
    code = "import sys, gradcheck\nprint('jax' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_python_dash_m_gradcheck_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gradcheck", "schema"], capture_output=True, text=True, check=True
    )
    assert '"title": "SpecModel"' in out.stdout
