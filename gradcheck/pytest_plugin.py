"""pytest plugin (entry point ``pytest11``): check your own backprop from your own tests.

The ``gradcheck`` fixture verifies a gradient function ``(spec, params, inputs, targets) ->
grads`` against JAX and finite differences, and fails the test with the verdict's summary (the
failing layer and entry) when it disagrees::

    def test_my_backprop(gradcheck):
        gradcheck.verify(my_grads)                      # the built-in networks
        gradcheck.verify(my_grads, "nets/mine.toml")    # a spec file, folder or Spec
        gradcheck.verify_generated(my_grads, depth=2)   # networks gradcheck draws
        gradcheck.verify_layer("conv2d", conv_forward, conv_backward)  # a course-style layer

Each checked network is recorded as a property of the test (``gradcheck[<network>]``: its
summary line), so ``pytest --junitxml`` carries per-network results; a call whose networks all
had nothing to check (every group frozen) passes with a warning, since it verified nothing. The
test runs with JAX's x64 switched on for its own duration only. ``--gradcheck-examples N`` /
``--gradcheck-seed S`` (or ``@pytest.mark.gradcheck(examples=N, seed=S, rtol=..., atol=...)``)
set how many generated networks ``verify_generated`` checks and which; ``--gradcheck-family F``
(or the marker's ``family=``) the network family (what the code supports) both calls default to:
networks are drawn from it, and a given network outside it is unsupported (a warning), not
failed. Each generated network that fails is saved as a spec file,
``<name>-seed<S>-case<I>.toml``, in a folder named for the test under ``gradcheck-failures/`` in
pytest's rootdir, as the command saves its own (or under ``--gradcheck-failures-dir DIR``): it
outlives pytest's temporary folders, of which only the last three runs are kept, and a CI job
can keep it as an artifact. The failure message names the file and the ``gradcheck verify``
command that reproduces the failure.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported when used: loading the plugin must not slow every pytest run
    from gradcheck.checking.layer_verdict import LayerVerdict
    from gradcheck.checking.replays import Replay
    from gradcheck.checking.verdict import NetworkVerdict
    from gradcheck.spec import Array, GradientFn, Params, Spec
    from gradcheck.spec.family import Family

__all__ = ["GradcheckFixture", "gradcheck"]

_DEFAULT_EXAMPLES = 20


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "gradcheck: verify hand-derived gradients")
    group.addoption(
        "--gradcheck-examples",
        type=int,
        default=None,
        help=f"generated networks per verify_generated call (default {_DEFAULT_EXAMPLES})",
    )
    group.addoption(
        "--gradcheck-seed", type=int, default=None, help="seed of the generated networks (0)"
    )
    group.addoption(
        "--gradcheck-family",
        default=None,
        metavar="FILE",
        help="network family TOML the fixture's calls default to (what your code supports)",
    )
    group.addoption(
        "--gradcheck-failures-dir",
        default=None,
        metavar="DIR",
        help="save failing generated networks under DIR/<test name>/ (default: "
        "gradcheck-failures/<test name>/ in pytest's rootdir)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gradcheck(examples=N, seed=S, rtol=None, atol=None, family=None): settings of the "
        "gradcheck fixture",
    )


@dataclass
class GradcheckFixture:
    """What the ``gradcheck`` fixture gives a test: verify, fail loudly, record per network."""

    examples: int
    seed: int
    rtol: float | None
    atol: float | None
    record: Callable[[str, object], None]
    family: str | None = None  # the family file the calls default to
    # where failing generated networks are saved (the fixture: a folder named for the test)
    failures_dir: Callable[[], Path] = lambda: Path("gradcheck-failures")

    def verify(
        self,
        candidate: GradientFn,
        spec: Spec | str | Path | None = None,
        params: Params | None = None,
        inputs: Array | None = None,
        targets: Array | None = None,
        *,
        family: Family | str | Path | None = None,
        **options: Any,
    ) -> list[NetworkVerdict]:
        """Verify ``candidate`` on ``spec`` (a Spec, a TOML file, a folder of them; default:
        the built-in networks) and fail the test on any disagreement. A network outside
        ``family`` (a Family or a family file) is unsupported, not checked. ``options`` go to
        :func:`gradcheck.verify` (``mode``, ``fd_rel_step``, ...)."""
        from gradcheck.checking.verification import verify, within
        from gradcheck.spec import Spec, builtin_networks_dir, load_specs
        from gradcheck.spec.family import load_family

        specs = [spec] if isinstance(spec, Spec) else load_specs([spec or builtin_networks_dir()])
        family = self.family if family is None else family
        if isinstance(family, str | Path):
            family = load_family(family)
        options = {"rtol": self.rtol, "atol": self.atol, **options}

        def check(s: Spec) -> NetworkVerdict:
            return verify(candidate, s, params, inputs, targets, **options)

        verdicts = [within(family, check, s) for s in specs]
        return self._judge(verdicts)

    def verify_generated(
        self, candidate: GradientFn, n: int | None = None, seed: int | None = None, **shape: Any
    ) -> list[NetworkVerdict]:
        """Verify ``candidate`` on ``n`` networks drawn by
        :func:`gradcheck.sample_networks` (``shape``: its keyword arguments, e.g.
        ``depth=2, activations=("sigmoid",)`` or ``family="my_family.toml"``) and fail the test
        on any disagreement."""
        from gradcheck.checking.batched import verify_many
        from gradcheck.checking.candidates import candidate_reference
        from gradcheck.checking.replays import reproduce_options, save_replay
        from gradcheck.generate.strategies import sample_networks
        from gradcheck.hand import hand_grads

        seed = self.seed if seed is None else seed
        shape.setdefault("family", self.family)
        cases = sample_networks(self.examples if n is None else n, seed, **shape)
        verdicts = verify_many(candidate, cases, rtol=self.rtol, atol=self.atol)
        reference = None if candidate is hand_grads else candidate_reference(candidate)
        unnamed = reference is None and candidate is not hand_grads
        options = reproduce_options(
            "MODULE:FUNCTION" if unnamed else reference, rtol=self.rtol, atol=self.atol
        )
        replays = {
            k: save_replay(case.spec, self.failures_dir(), seed, k, options)
            for k, (case, v) in enumerate(zip(cases, verdicts, strict=True))
            if not v.ok
        }
        return self._judge(verdicts, replays, unnamed)

    def verify_layer(
        self,
        kind: str,
        forward: Callable[..., Any],
        backward: Callable[..., Any],
        **options: Any,
    ) -> LayerVerdict:
        """Check a course-style layer with :func:`gradcheck.verify_layer` (``options``: its
        keywords, e.g. ``examples=50, stride=2``) and fail the test with the minimal failing
        case, its diagnosis and the call that replays it."""
        from gradcheck.search.layers import verify_layer

        options = {"seed": self.seed, "rtol": self.rtol, "atol": self.atol, **options}
        verdict = verify_layer(kind, forward, backward, **options)
        self.record(f"gradcheck[{kind}]", verdict.summary())
        if not verdict.ok:
            lines = [verdict.summary(), *(f"    {line}" for line in verdict.failure_lines())]
            pytest.fail("\n".join(lines), pytrace=False)
        return verdict

    def _judge(
        self,
        verdicts: list[NetworkVerdict],
        replays: dict[int, Replay] | None = None,
        unnamed: bool = False,
    ) -> list[NetworkVerdict]:
        for v in verdicts:
            self.record(f"gradcheck[{v.name}]", v.summary(limit=0))
        if verdicts and all(v.nothing_to_check for v in verdicts):
            names = ", ".join(v.name for v in verdicts)
            warnings.warn(
                f"gradcheck: nothing to check in {names}: every group is frozen", stacklevel=3
            )
        skipped = [v for v in verdicts if v.unsupported]
        if skipped and len(skipped) == len(verdicts):
            lines = [f"gradcheck: nothing checked, all {len(verdicts)} networks unsupported"]
            pytest.fail("\n".join([*lines, *(v.summary() for v in skipped)]), pytrace=False)
        if skipped:
            warnings.warn(_unsupported_warning(skipped, len(verdicts)), stacklevel=3)
        failed = [v for v in verdicts if not v.ok]
        if failed:
            lines = [f"gradcheck: {len(failed)} of {len(verdicts)} networks disagree"]
            for k, v in enumerate(verdicts):
                if not v.ok:
                    lines.append(v.summary(limit=0))
                    saved = replays[k].lines() if replays and k in replays else []
                    lines += [f"    {line}" for line in [*v.failure_lines(), *saved]]
            if replays and unnamed:
                lines.append(
                    "(the candidate has no importable name: give its MODULE:FUNCTION or "
                    "path/to/file.py:FUNCTION)"
                )
            pytest.fail("\n".join(lines), pytrace=False)
        return verdicts


@pytest.fixture
def gradcheck(
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GradcheckFixture]:
    """Verify gradient functions in a test; JAX x64 is on for the test's duration."""
    import jax

    marker = request.node.get_closest_marker("gradcheck")
    settings: dict[str, Any] = dict(marker.kwargs) if marker else {}
    examples = request.config.getoption("--gradcheck-examples")
    seed = request.config.getoption("--gradcheck-seed")
    fixture = GradcheckFixture(
        examples=settings.get("examples", _DEFAULT_EXAMPLES if examples is None else examples),
        seed=settings.get("seed", 0 if seed is None else seed),
        rtol=settings.get("rtol"),
        atol=settings.get("atol"),
        record=record_property,
        family=settings.get("family", _family_option(request)),
        failures_dir=lambda: _failures_dir(request, tmp_path_factory),
    )
    with jax.enable_x64(True):
        yield fixture


def _unsupported_warning(skipped: list[NetworkVerdict], total: int) -> str:
    """One line for a call's unsupported networks: how many, then each distinct reason with its
    count and up to three of its networks, the most common first."""
    by_reason: dict[str, list[str]] = {}
    for v in skipped:
        by_reason.setdefault(v.unsupported, []).append(v.name)
    reasons = sorted(by_reason.items(), key=lambda item: -len(item[1]))
    parts = []
    for reason, names in reasons:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        parts.append(f"{reason} ({len(names)} network{'' if len(names) == 1 else 's'}: {shown})")
    return f"gradcheck: {len(skipped)} of {total} networks unsupported, not checked: " + "; ".join(
        parts
    )


def _family_option(request: pytest.FixtureRequest) -> str | None:
    """``--gradcheck-family FILE``, relative to where pytest was started."""
    given = request.config.getoption("--gradcheck-family")
    return None if given is None else str(request.config.invocation_params.dir / given)


def _failures_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<--gradcheck-failures-dir or rootdir/gradcheck-failures>/<test name>``: asked for only
    when a generated network failed, so a passing run creates nothing. Where the default folder
    cannot be written (a file in its place, a read-only checkout), pytest's temporary folder
    serves, so the failure is still the verdict's."""
    from gradcheck.checking.replays import check_failures_dir

    given = request.config.getoption("--gradcheck-failures-dir")
    if given:
        where = request.config.invocation_params.dir / given
        base = check_failures_dir(where, "--gradcheck-failures-dir")
    else:
        base = request.config.rootpath / "gradcheck-failures"
        if not _writable(base):
            base = tmp_path_factory.getbasetemp() / "gradcheck-failures"
    return base / re.sub(r"[^\w.-]", "_", request.node.name, flags=re.ASCII)[:64]


def _writable(folder: Path) -> bool:
    """``folder`` can be made or written to: its nearest existing path is a writable folder."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    return existing.is_dir() and os.access(existing, os.W_OK)
