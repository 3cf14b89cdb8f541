"""The wheel is self-contained: built as a user's CI would build it (``python -m build --wheel``),
it holds every file of the package, the built-in networks and the report's templates, declares
the ``gradcheck`` command and the pytest plugin, and, installed on its own outside the repository,
finds its networks and templates inside itself and verifies a built-in network.

The wheel is built once per module into a temporary folder (nothing is written into the
repository) and installed with ``pip install --no-deps --target DIR``; its dependencies come from
this virtual environment. Subprocesses run from a folder outside the repository with
``PYTHONPATH=DIR``, so ``import gradcheck`` finds the installed copy before the editable one, and a
module missing from the wheel fails to import rather than falling back to the checkout. About
15 s on two cores: the build (an isolated build environment with hatchling), the install, and one
``gradcheck verify`` of the built-in networks, JAX's import and compiles included.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from helpers import builtin_names

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
TIMEOUT_S = 300


def _run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    environ.pop("PYTHONPATH", None)
    environ.update(env)
    result = subprocess.run(
        argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert result.returncode == 0, (
        f"`{' '.join(argv)}` exited {result.returncode}:\n{(result.stdout + result.stderr)[-4000:]}"
    )
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build --wheel`` of the working tree, into a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)], out)
    (built,) = out.glob("gradcheck-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel alone, installed into a folder of its own (its console script in ``bin/``)."""
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    _run([*pip, "--target", str(target), str(wheel)], target)
    return target


def _dist_info(names: list[str], file: str) -> str:
    (path,) = (n for n in names if re.fullmatch(rf"gradcheck-[^/]+\.dist-info/{file}", n))
    return path


def _package_files() -> set[str]:
    """What the wheel must hold: every file under ``gradcheck/`` (no bytecode) and the built-in
    networks, which ``pyproject.toml`` force-includes as ``gradcheck/networks/``."""
    files = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "gradcheck").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    networks = REPO / "networks"  # the public tutorials' networks too, in networks/documents/
    files |= {
        f"gradcheck/networks/{p.relative_to(networks).as_posix()}" for p in networks.rglob("*.toml")
    }
    return files


def test_the_wheel_holds_the_package_networks_and_templates(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packaged = {n for n in names if not n.startswith("gradcheck-")}
    expected = _package_files()
    assert packaged == expected, (
        f"missing from the wheel: {sorted(expected - packaged)}; "
        f"not in the package: {sorted(packaged - expected)}"
    )
    shipped = {"networks/linear_2_2_1.toml", "report/templates/report.html.j2", "__main__.py"}
    shipped |= {"networks/sigmoid_2_2_2.toml", "report/templates/report.css"}
    assert {f"gradcheck/{name}" for name in shipped} <= packaged
    assert not any(n.endswith((".pyc", ".whl")) or "/tests/" in f"/{n}" for n in names)


def test_the_wheel_declares_the_command_the_plugin_and_the_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(_dist_info(names, "entry_points.txt")).decode()
        metadata = Parser().parsestr(archive.read(_dist_info(names, "METADATA")).decode())
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the names' case
    parser.read_string(entry_points)
    assert dict(parser["console_scripts"]) == {"gradcheck": "gradcheck.cli:main"}
    assert dict(parser["pytest11"]) == {"gradcheck": "gradcheck.pytest_plugin"}
    assert dict(parser["console_scripts"]) == PYPROJECT["project"]["scripts"]
    assert dict(parser["pytest11"]) == PYPROJECT["project"]["entry-points"]["pytest11"]

    project = PYPROJECT["project"]
    assert metadata["Name"] == project["name"] and metadata["Version"] == project["version"]
    assert metadata["Requires-Python"] == project["requires-python"]
    required = {r for r in metadata.get_all("Requires-Dist", []) if "extra ==" not in r}
    assert required == set(project["dependencies"])  # what `pip install gradcheck` brings
    assert "gradcheck verify" in (metadata.get_payload() or "")  # the README, as the description


def test_the_installed_wheel_runs_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    """From a folder outside the repository, with only the installed wheel on ``PYTHONPATH``:
    the package, its networks, templates and plugin come from the install, and the console
    script verifies the built-in networks."""
    probe = textwrap.dedent(
        """
        import sys
        from importlib.metadata import entry_points
        from pathlib import Path

        import gradcheck
        from jinja2 import PackageLoader
        from gradcheck.spec import builtin_networks_dir, load_specs

        site = Path(sys.argv[1]).resolve()
        assert Path(gradcheck.__file__).resolve().is_relative_to(site), gradcheck.__file__
        networks = builtin_networks_dir()
        assert networks.resolve().is_relative_to(site), networks
        print("networks", *sorted(spec.name for spec in load_specs([networks])))
        loader = PackageLoader("gradcheck.report", "templates")
        for name in ("report.html.j2", "report.css"):
            _, filename, _ = loader.get_source(None, name)
            assert Path(filename).resolve().is_relative_to(site), filename
        (plugin,) = {e.value for e in entry_points(group="pytest11") if e.name == "gradcheck"}
        module = __import__(plugin, fromlist=["_"])
        assert Path(module.__file__).resolve().is_relative_to(site), module.__file__
        print("ok", gradcheck.__file__)
        """
    )
    (tmp_path / "probe.py").write_text(probe)
    assert not tmp_path.resolve().is_relative_to(REPO)
    env = {"PYTHONPATH": str(installed)}
    out = _run([sys.executable, "probe.py", str(installed)], tmp_path, **env).stdout
    assert "networks " + " ".join(sorted(builtin_names())) in out

    script = installed / "bin" / "gradcheck"  # pip's console script for the entry point
    assert script.is_file()
    verified = _run([str(script), "verify", "--examples", "0"], tmp_path, **env).stdout
    assert re.search(r"^ok +linear-2-2-1: verified", verified, re.MULTILINE), verified
    assert re.search(r"^ok +sigmoid-2-2-2: verified", verified, re.MULTILINE), verified
    assert not (tmp_path / "gradcheck-failures").exists()

    usage = _run([sys.executable, "-m", "gradcheck", "--help"], tmp_path, **env).stdout
    assert "verify" in usage and "report" in usage
