from gradcheck.backprop import hand_grads
from gradcheck.spec import builtin_networks_dir, load_specs


def test_builtin_networks_load_and_differentiate() -> None:
    specs = load_specs([builtin_networks_dir()])
    assert {s.name for s in specs} >= {"linear-2-2-1", "sigmoid-2-2-2"}
    for s in specs:
        g = hand_grads(s, s.initial_params(), s.inputs(), s.targets())
        assert [sorted(d) for d in g] == [sorted(d) for d in s.initial_params()]
