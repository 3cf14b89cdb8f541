"""Generated networks drawn and verified in worker processes (``--jobs``)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import RunCli

from gradcheck.checking import parallel
from gradcheck.checking.batched import verify_many
from gradcheck.checking.candidates import CANDIDATE_FAILURES, load_candidate
from gradcheck.checking.processes import COLLECT_EVERY
from gradcheck.generate.strategies import sample_networks
from gradcheck.hand import hand_grads

# dense-only and wrong on sigmoid layers: it fails some dense networks and raises on the others
CANDIDATE = "planted:wrong_sigmoid_derivative"


def test_verdicts_from_two_processes_are_those_one_process_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "SLICE", 2)  # 3 slices of the 6 cases over 2 processes
    fn = load_candidate(CANDIDATE)
    alone = verify_many(fn, sample_networks(6, 5), catch=CANDIDATE_FAILURES)
    draw = functools.partial(sample_networks, seed=5)
    shared = parallel.verify_drawn(
        fn, draw, 6, jobs=2, reference=CANDIDATE, catch=CANDIDATE_FAILURES
    ).result()
    assert [v.to_dict() for v in shared] == [v.to_dict() for v in alone]
    assert any(v.ok for v in alone) and not all(v.ok for v in alone), "both verdicts met"
    # a failing network comes back with its spec (saved as a replay), a verified one without
    assert [v.spec is not None for v in shared] == [not v.ok for v in shared]
    assert all(v.spec.name == a.name for v, a in zip(shared, alone, strict=True) if v.spec)


def test_processes_are_one_per_cpu_at_most_one_per_slice() -> None:
    assert parallel.processes(1, 1000) == 1
    assert parallel.processes(4, 1000) == 4
    assert parallel.processes(4, parallel.SLICE + 1) == 2
    assert parallel.processes(8, 0) == 1
    assert parallel.processes(0, 10**6) == (os.cpu_count() or 1)


def test_slices_grow_with_the_cases_to_about_eight_per_process_within_their_bounds() -> None:
    assert parallel.slice_size(100, 2) == parallel.SLICE
    assert parallel.slice_size(2_000, 2) == 2_000 // 16
    assert parallel.slice_size(10_000, 2) == parallel.MAX_SLICE
    assert parallel.slice_size(10**6, 64) == parallel.MAX_SLICE


def test_a_candidate_without_a_reference_runs_in_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "SLICE", 2)
    calls: list[int] = []

    def counted(*args: object) -> object:
        calls.append(1)
        return hand_grads(*args)  # type: ignore[arg-type]

    draw = functools.partial(sample_networks, seed=1, kinds=("dense",), depth=1, widths=(1, 2))
    pending = parallel.verify_drawn(counted, draw, 4, jobs=2)  # type: ignore[arg-type]
    assert calls == [], "in this process, when the verdicts are asked for"
    verdicts = pending.result()
    assert len(calls) == 4 and all(v.ok for v in verdicts)


def test_verify_with_two_jobs_prints_what_one_job_prints(run_cli: RunCli) -> None:
    command = ["verify", "--examples", "33", "--kinds", "dense", "--depth", "1", "--json"]
    command += ["--widths", "1-2", "--dtypes", "float64"]  # few shapes: few compiles
    one = run_cli([*command, "--jobs", "1"])
    two = run_cli([*command, "--jobs", "2"])
    assert one.status == two.status == 0, two.err
    assert json.loads(two.out) == json.loads(one.out)
    assert len(json.loads(one.out)["networks"]) == 39  # 6 built-in and 33 generated


def test_workers_keep_their_compiled_programs_in_the_parents_persistent_cache(
    tmp_path: Path,
) -> None:
    # the built-in networks are outside this family (depth 3): only the generated networks'
    # programs compile, in this process or in the workers, and reach the same cache entries (a
    # second run's workers skip their compiles, as the command's own process does)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env["XDG_CACHE_HOME"] = str(tmp_path)  # one path for both runs: it is part of a cache key
    cache = tmp_path / "gradcheck" / "xla"
    command = [sys.executable, "-m", "gradcheck", "verify", "--examples", "33", "--kinds", "dense"]
    command += ["--depth", "3", "--widths", "1-2", "--dtypes", "float64"]
    written = []
    for jobs in ("1", "2"):
        shutil.rmtree(cache, ignore_errors=True)
        ran = subprocess.run([*command, "--jobs", jobs], env=env, capture_output=True)
        assert ran.returncode == 0, ran.stdout
        written.append({p.name for p in cache.glob("*")})
    assert written[0] and written[1] == written[0]


@pytest.mark.parametrize(
    "code",
    [
        "from gradcheck.checking.parallel import start_worker; start_worker({})",
        "import sys; sys.argv = ['gradcheck', '--version']; from gradcheck.cli import main; main()",
    ],
    ids=["worker", "command"],
)
def test_a_process_gradcheck_owns_collects_cycles_less_often(code: str) -> None:
    """A worker, and the command's own process, run Python's cycle collector at
    COLLECT_EVERY; importing gradcheck (a user's own process) leaves it as it is."""
    show = "import atexit, gc; atexit.register(lambda: print('gc', gc.get_threshold()))\n"
    ran = subprocess.run(
        [sys.executable, "-c", show + code], capture_output=True, text=True, check=False
    )
    assert f"gc {COLLECT_EVERY}" in ran.stdout, ran.stdout + ran.stderr
    alone = subprocess.run(
        [sys.executable, "-c", show + "import gradcheck.cli, gradcheck.checking.parallel"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"gc {COLLECT_EVERY}" not in alone.stdout
