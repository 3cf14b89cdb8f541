"""The network spec: TOML data, validated once where it enters, frozen afterwards.

:mod:`~gradcheck.spec.schema` holds the pydantic models of the TOML tables and the checks across
fields, :mod:`~gradcheck.spec.specfile` reads and writes TOML and turns pydantic's errors into
one line each, :mod:`~gradcheck.spec.network` the frozen :class:`Spec` with the one ``Params``
structure, and :mod:`~gradcheck.spec.arguments` checks ``(spec, params, inputs, targets)`` where
they enter a gradient source. Import from here.
"""

from gradcheck.spec.arguments import check_arguments
from gradcheck.spec.network import (
    ACTIVATIONS,
    LOSSES,
    Array,
    Documented,
    GradcheckError,
    GradientFn,
    Location,
    Params,
    Spec,
    SpecError,
    builtin_networks_dir,
    load_spec,
    load_specs,
    parse_spec,
    spec_json_schema,
    spec_to_toml,
)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Array",
    "Documented",
    "GradcheckError",
    "GradientFn",
    "Location",
    "Params",
    "Spec",
    "SpecError",
    "builtin_networks_dir",
    "check_arguments",
    "load_spec",
    "load_specs",
    "parse_spec",
    "spec_json_schema",
    "spec_to_toml",
]
