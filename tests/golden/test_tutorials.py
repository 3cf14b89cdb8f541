"""Public backprop tutorials as golden cases (``networks/documents/``): each one's verdict counts
and, for every discrepancy, the cause checked by hand. The hand computations are in the comments
and, where a cause names a number, recomputed here with mpmath, apart from gradcheck."""

from __future__ import annotations

from collections.abc import Iterator

import mpmath
import pytest

from gradcheck.golden.findings import ERRORS
from gradcheck.golden.judging import GoldenRecord, check_spec, verdict_counts
from gradcheck.spec import Spec, builtin_networks_dir, load_spec, load_specs

DOCUMENTS = builtin_networks_dir() / "documents"


@pytest.fixture(scope="module", autouse=True)
def _precision() -> Iterator[None]:
    with mpmath.workdps(40):
        yield


def _records(name: str) -> list[GoldenRecord]:
    return check_spec(load_spec(DOCUMENTS / f"{name}.toml"))


def _discrepancies(records: list[GoldenRecord]) -> dict[str, GoldenRecord]:
    """The discrepancies by their ``where`` line (one per line in these documents)."""
    found = [r for r in records if r.verdict == "discrepancy"]
    by_line = {r.where.split(":")[0]: r for r in found}
    assert len(by_line) == len(found)
    return by_line


def _sigmoid(x: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-x))


def test_every_public_document_is_a_sourced_spec_with_documented_values() -> None:
    specs: list[Spec] = load_specs([DOCUMENTS])
    assert len(specs) >= 3
    for spec in specs:
        assert spec.documented and spec.model.source.startswith("https://")


def test_postnetwork_softmax_slip_at_z4_and_what_it_reaches() -> None:
    records = _records("postnetwork_softmax")
    assert verdict_counts(records)["postnetwork-softmax"] == {
        "match": 5,
        "match-truncated": 0,
        "discrepancy": 4,
    }
    off = _discrepancies(records)
    assert sorted(off) == ["line 23", "line 25", "line 26", "line 30"]
    a1 = _sigmoid(mpmath.mpf("-0.3"))  # 0.425557, printed 0.426: a match
    z3 = mpmath.mpf("0.3") * a1 + mpmath.mpf("0.4") * 0.5 + mpmath.mpf("0.1")  # 0.427667
    z4 = mpmath.mpf("-0.1") * a1 + mpmath.mpf("0.2") * 0.5 + mpmath.mpf("0.1")  # 0.157444

    # line 23: -0.1 * 0.426 + 0.2 * 0.5 + 0.1 = 0.1574 (0.157444 unrounded), printed 0.185: a
    # slip in the document's own sum, nothing reproduces 0.185
    z = off["line 23"]
    assert (z.quantity, z.finding) == ("net:y2", "slip")
    assert "-0.1 * 0.426 + 0.2 * 0.5 + 0.1 = 0.1574, printed 0.185" in z.cause
    assert f"{z.computed:.6f}" == f"{float(z4):.6f}"

    # line 26: e^0.185 / (e^0.428 + e^0.185) = 0.439547, cut to 0.439: computed on from the
    # slipped z4; with z4 = 0.157 it would be 0.432662 (the true 0.432852)
    y2 = off["line 26"]
    assert (y2.quantity, y2.finding, y2.group) == ("out:y2", "knock-on", "slip at line 23")
    from_slip = mpmath.exp(0.185) / (mpmath.exp(0.428) + mpmath.exp(0.185))
    assert f"{float(from_slip):.6f}" == "0.439547"
    assert "= 0.439547 (truncated)" in y2.cause and "it gives 0.432662" in y2.cause
    assert y2.cause.count("line 23 (net:y2 printed 0.185, slip)") == 1  # named once

    # line 30: -ln(0.561) = 0.578034, yet printed 0.579: the loss came from the unrounded
    # y_hat1 of the slipped z4, -ln sigmoid(0.427667 - 0.185) = 0.579156 (true: 0.567136)
    loss = off["line 30"]
    assert (loss.quantity, loss.finding, loss.group) == ("loss", "knock-on", "slip at line 23")
    carried = -mpmath.log(_sigmoid(z3 - mpmath.mpf("0.185")))
    assert f"{float(carried):.6f}" == "0.579156" and "it gives 0.579156 (rounded)" in loss.cause
    assert f"{loss.computed:.6f}" == f"{float(-mpmath.log(_sigmoid(z3 - z4))):.6f}"

    # line 25: e^0.428 / (e^0.428 + e^0.185) = 0.560453 rounds to 0.560, printed 0.561: off in
    # its last digit on top of the slipped z4 (the true 0.567148). gradcheck calls it a slip of
    # its own arithmetic, which it is; it does not say that 1 - 0.439 = 0.561 may be how.
    y1 = off["line 25"]
    assert (y1.quantity, y1.finding) == ("out:y1", "slip")
    assert f"{float(1 - from_slip):.6f}" == "0.560453" and "= 0.560453, printed 0.561" in y1.cause
    assert not any(r.group for r in records if r.finding == "slip")  # each begins its own


def test_single_neuron_prints_cut_not_rounded_and_one_carried_rounding() -> None:
    records = _records("single_neuron_sigmoid")
    assert verdict_counts(records)["single-neuron-sigmoid"] == {
        "match": 10,
        "match-truncated": 5,
        "discrepancy": 1,
    }
    y = _sigmoid(mpmath.mpf("-0.2"))  # 0.4501660, printed 0.4502
    delta = (y - 1) * y * (1 - y)  # -0.1360930: printed -0.1360, cut (rounding gives -0.1361)
    truncated = {r.where.split(":")[0] for r in records if r.verdict == "match-truncated"}
    # the loss 0.5 (1 - y)^2 = 0.1511587 printed 0.1511 (twice); dL/dz, dL/dw11 = dL/dz * 1 and
    # dL/db = dL/dz all -0.1360930 printed -0.1360
    assert truncated == {"line 45", "line 60", "line 66", "line 68", "line 94"}
    assert f"{float(delta):.7f}" == "-0.1360930"

    # line 67: dL/dw12 = dL/dz * 2 = -0.2721861 (-0.2722), printed -0.2720: the document
    # doubled its own cut -0.1360; no error of its own, a rounding carried on
    (w12,) = _discrepancies(records).values()
    assert (w12.quantity, w12.finding) == ("grad:w12", "intermediates")
    assert "-0.1360 * 2.0 = -0.272 (rounded)" in w12.cause
    assert "0.1360 = delta:y_pred (truncated)" in w12.cause
    assert f"{w12.computed:.7f}" == f"{float(2 * delta):.7f}"
    assert not any(r.finding in ERRORS for r in records)


def test_cs231n_notebook_has_no_error_only_float64_and_carried_rounding() -> None:
    records = _records("cs231n_two_layer")
    assert verdict_counts(records)["cs231n-two-layer"] == {
        "match": 55,
        "match-truncated": 1,
        "discrepancy": 2,
    }
    scores = [mpmath.mpf("2.28") * mpmath.mpf(w) for w in ("0.19", "-0.1", "0.1")]  # h1 = [2.28, 0]
    total = sum(mpmath.exp(s) for s in scores)
    p = [mpmath.exp(s) / total for s in scores]
    off = _discrepancies(records)

    # line 79: NumPy's loss 1.0513754685043635 is -ln p2 = 1.05137546850436364 in float64,
    # 0.6 ulps off: float64 rounding, not the document's error
    loss = off["line 79"]
    assert (loss.quantity, loss.finding) == ("loss", "float64")
    assert loss.exact.startswith(mpmath.nstr(-mpmath.log(p[2]), 19)[:19])
    assert "0.6 float64 ulps apart" in loss.cause

    # line 102: dW2[0,1] = 2.28 * p1 = 0.504998396207772 (…208), printed …209: the notebook
    # multiplied its 12-decimal dscores, 2.28 * 0.221490524653 = 0.50499839620884
    w = off["line 102"]
    assert (w.quantity, w.finding) == ("grad:W2_01", "intermediates")
    assert "2.28 * 0.221490524653 = 0.50499839620884 (rounded)" in w.cause
    assert f"{w.computed:.12f}" == f"{float(mpmath.mpf('2.28') * p[1]):.12f}" == "0.504998396208"

    # dW2[0,0] = 2.28 * p0 = 0.97824021006890, printed 0.978240210068: the cut digits (and
    # the notebook's own 2.28 * 0.429052723714 = 0.97824021006792 rounds to the same)
    (cut,) = [r for r in records if r.verdict == "match-truncated"]
    assert (cut.quantity, cut.where.split(":")[0]) == ("grad:W2_00", "line 102")
    assert not any(r.finding in ERRORS for r in records)
