"""Every failure reproducible: a failing generated network saved as a spec file loads back with
``load_spec`` and fails the same way; the file is named for the draw, written whole, and the
command repeats the run's options; a candidate function is named as ``--candidate`` loads it."""

from __future__ import annotations

import functools
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import changed

from gradcheck.checking.candidates import candidate_reference, load_candidate
from gradcheck.checking.replays import (
    check_failures_dir,
    replay_name,
    reproduce_options,
    save_replay,
)
from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import sample_networks
from gradcheck.hand import hand_grads
from gradcheck.spec import GradcheckError, Params, Spec, load_spec


def _without_path(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "path"}


def double_first_group(spec: Spec, params: Params, inputs: Any, targets: Any) -> Params:
    """Planted: the first trainable group's gradient doubled."""
    grads = hand_grads(spec, params, inputs, targets)
    layer = next((g for g in grads if g), {})
    for k in list(layer)[:1]:
        layer[k] = 2 * layer[k]
    return grads


def test_a_saved_failing_network_loads_back_and_fails_with_the_same_entries(
    tmp_path: Path,
) -> None:
    cases = sample_networks(6, seed=3, dtypes=("float64", "float32"))
    failing = 0
    for k, case in enumerate(cases):
        found = verify(double_first_group, *case)
        if found.ok:
            continue
        failing += 1
        saved = save_replay(case.spec, tmp_path, 3, k)
        assert saved.path == tmp_path / f"{case.spec.name}-seed3-case{k}.toml"
        loaded = load_spec(saved.path)
        assert loaded.model.description.endswith(f"sample_networks(seed=3), case {k}")
        again = verify(double_first_group, loaded)
        assert not again.ok
        assert _without_path(again.to_dict()) == _without_path(found.to_dict())
    assert failing >= 2
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # renamed, none left


def test_the_command_repeats_the_candidate_and_tolerance_options(tmp_path: Path) -> None:
    case = sample_networks(1, seed=0)[0]
    options = reproduce_options("my file.py:grads", rtol=1e-6, atol=None, mode="entries")
    saved = save_replay(case.spec, tmp_path / "a" / "b", 0, 0, options)
    assert saved.path.is_file()  # the folders were created
    assert saved.command == (
        f"gradcheck verify {saved.path} --examples 0 --candidate 'my file.py:grads' "
        "--rtol 1e-06 --mode entries"
    )
    assert saved.lines() == [
        f"replay: {saved.path} (seed 0, case 0)",
        f"reproduce: {saved.command}",
    ]
    assert saved.to_dict() == {
        "replay_path": str(saved.path),
        "seed": 0,
        "index": 0,
        "reproduce": saved.command,
    }
    assert reproduce_options() == ["--examples", "0"]


def test_replay_names_keep_only_safe_characters() -> None:
    assert replay_name("generated-3-5", 0, 7) == "generated-3-5-seed0-case7.toml"
    assert replay_name("my net/../x", 12, 0) == "my_net_.._x-seed12-case0.toml"


def test_a_failures_folder_below_a_file_is_an_error_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(GradcheckError, match=r"afile is not a folder"):
        check_failures_dir(tmp_path / "afile" / "failures")
    with pytest.raises(GradcheckError, match="empty path"):
        check_failures_dir("")
    assert check_failures_dir(tmp_path / "new") == tmp_path / "new"
    assert not (tmp_path / "new").exists()


def test_saving_where_the_os_refuses_is_one_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    case = sample_networks(1, seed=0)[0]
    with pytest.raises(GradcheckError, match="cannot save the failing network"):
        save_replay(case.spec, tmp_path / "afile", 0, 0)


def nested_candidate() -> object:
    def inner(spec: Spec, params: Params, inputs: Any, targets: Any) -> Params:
        return hand_grads(spec, params, inputs, targets)

    return inner


def test_a_candidate_is_named_as_candidate_loads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the repository root
    assert candidate_reference(hand_grads) == "gradcheck.hand.backprop:hand_grads"
    assert load_candidate("gradcheck.hand.backprop:hand_grads") is hand_grads
    # a test module pytest imported by its bare name: by its file, relative to the cwd
    reference = candidate_reference(double_first_group)
    assert reference == "tests/checking/test_replays.py:double_first_group"
    assert load_candidate(reference).__name__ == "double_first_group"
    monkeypatch.chdir(tmp_path)  # outside the working folder: importable where it was found
    assert candidate_reference(hand_grads) == "gradcheck.hand.backprop:hand_grads"
    unnamed = [
        lambda s, p, x, t: p,
        nested_candidate(),
        functools.partial(hand_grads),
        changed((0, "W"), (0, 0), 2.0),
    ]
    assert [candidate_reference(fn) for fn in unnamed] == [None] * 4


def test_a_module_imported_from_a_folder_put_on_the_path_is_named_by_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test that puts its candidate's folder on ``sys.path`` and imports it by bare name: a
    new process (the printed replay command) has no such path, so the file is named."""
    folder, work = tmp_path / "elsewhere", tmp_path / "work"
    folder.mkdir()
    work.mkdir()
    (folder / "net_grads_elsewhere.py").write_text(
        "from gradcheck.hand import hand_grads\n\n"
        "def grads(spec, params, inputs, targets):\n"
        "    return hand_grads(spec, params, inputs, targets)\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.chdir(work)
    module = importlib.import_module("net_grads_elsewhere")
    reference = candidate_reference(module.grads)
    assert reference == f"{(folder / 'net_grads_elsewhere.py').resolve()}:grads"
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(folder)])  # a new process
    monkeypatch.delitem(sys.modules, "net_grads_elsewhere")
    assert load_candidate(reference).__name__ == "grads"
