"""Generated networks drawn and verified in worker processes (``verify --jobs``)."""

from __future__ import annotations

import json

import pytest
from helpers import RunCli

from gradcheck.checking.batched import verify_many
from gradcheck.checking.candidates import CANDIDATE_FAILURES, load_candidate
from gradcheck.generate.strategies import sample_networks
from gradcheck.search import networks as drawn

# dense-only and wrong on sigmoid layers: it fails some dense networks and raises on the others
CANDIDATE = "planted:wrong_sigmoid_derivative"


def test_verdicts_from_two_processes_are_those_one_process_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(drawn, "SLICE", 2)  # 3 slices of the 6 cases over 2 processes
    cases = sample_networks(6, 5)
    alone = verify_many(load_candidate(CANDIDATE), cases, catch=CANDIDATE_FAILURES)
    shared = drawn.verify_drawn(CANDIDATE, 6, 5, None, 2, catch=CANDIDATE_FAILURES)
    assert [v.to_dict() for v in shared] == [v.to_dict() for v in alone]
    assert any(v.ok for v in alone) and not all(v.ok for v in alone), "both verdicts met"


def test_verify_with_two_jobs_prints_what_one_job_prints(run_cli: RunCli) -> None:
    command = ["verify", "--examples", "40", "--kinds", "dense", "--depth", "1", "--json"]
    one = run_cli([*command, "--jobs", "1"])
    two = run_cli([*command, "--jobs", "2"])
    assert one.status == two.status == 0, two.err
    assert json.loads(two.out) == json.loads(one.out)
    assert len(json.loads(one.out)["networks"]) == 46  # 6 built-in and 40 generated
