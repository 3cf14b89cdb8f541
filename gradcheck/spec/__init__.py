"""The network spec: TOML data, validated once where it enters, frozen afterwards.

:mod:`~gradcheck.spec.schema` holds the pydantic models of the TOML tables and the checks across
fields, :mod:`~gradcheck.spec.specfile` reads and writes TOML and turns pydantic's errors into
one line each, :mod:`~gradcheck.spec.network` the frozen :class:`Spec` with the one ``Params``
structure, and :mod:`~gradcheck.spec.arguments` checks ``(spec, params, inputs, targets)`` where
they enter a gradient source. Import from here.
"""

from gradcheck.errors import GradcheckError, SpecError
from gradcheck.spec.arguments import check_arguments
from gradcheck.spec.network import ACTIVATIONS as ACTIVATIONS
from gradcheck.spec.network import LOSSES as LOSSES
from gradcheck.spec.network import Array as Array
from gradcheck.spec.network import GradientFn as GradientFn
from gradcheck.spec.network import Location as Location
from gradcheck.spec.network import Params as Params
from gradcheck.spec.network import Spec as Spec
from gradcheck.spec.network import load_spec as load_spec
from gradcheck.spec.network import load_specs as load_specs
from gradcheck.spec.network import parse_spec as parse_spec
from gradcheck.spec.network import spec_json_schema as spec_json_schema
from gradcheck.spec.network import spec_to_toml as spec_to_toml
from gradcheck.spec.schema import Documented
from gradcheck.spec.specfile import builtin_networks_dir

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
