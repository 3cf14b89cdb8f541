"""Where a training program runs: JAX devices, data-parallel sharding, the compilation cache.

Contract: :func:`resolve_devices` turns ``cpu``/``gpu``/``auto`` into JAX devices and
:func:`placement` into the shardings of a compiled program's arguments (parameters replicated,
the batch split when data-parallel), raising :class:`DeviceError` or :class:`TrainError` (both
re-exported by :mod:`gradcheck.training.runner`). :func:`enable_compilation_cache` is the only
function here that changes a global JAX setting, when a caller asks for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec, SingleDeviceSharding

from gradcheck.spec import GradcheckError

__all__ = [
    "DEVICES",
    "DeviceError",
    "Placement",
    "TrainError",
    "enable_compilation_cache",
    "placement",
    "resolve_devices",
]

DEVICES = ("cpu", "gpu", "auto")


class TrainError(GradcheckError, ValueError):
    """A training option is invalid; one line naming the option and the value."""


class DeviceError(GradcheckError, RuntimeError):
    """The requested device is not available to JAX; one line saying what would work."""


class Placement(NamedTuple):
    """The shardings of a compiled program's arguments, a label for people, and a cache key."""

    replicated: jax.sharding.Sharding
    batch: jax.sharding.Sharding
    label: str
    n_devices: int
    key: tuple[Any, ...]


def _gpus() -> list[jax.Device]:
    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # JAX raises RuntimeError when no GPU platform is present
        return []


def resolve_devices(device: str) -> list[jax.Device]:
    """The devices ``cpu``, ``gpu`` or ``auto`` (a GPU when JAX sees one, else the CPU) mean."""
    if device not in DEVICES:
        raise DeviceError(f"device {device!r}: must be one of {', '.join(DEVICES)}")
    if device == "cpu":
        return list(jax.devices("cpu"))
    gpus = _gpus()
    if device == "gpu" and not gpus:
        platforms = sorted({d.platform for d in jax.devices()})
        raise DeviceError(
            f"device 'gpu': JAX sees no GPU here (platforms: {', '.join(platforms)}); "
            "install one with pip install 'gradcheck[cuda13]' (or [cuda12]), or use cpu/auto"
        )
    return gpus or list(jax.devices("cpu"))


def placement(device: str, data_parallel: bool, batch: int) -> Placement:
    """One device, or (``data_parallel``) a mesh of every device of the kind with the
    ``batch`` samples split evenly along its ``"data"`` axis."""
    devices = resolve_devices(device)
    if not data_parallel:
        d = devices[0]
        one = SingleDeviceSharding(d)
        return Placement(one, one, f"{d.platform}:{d.id}", 1, (d.platform, d.id))
    n = len(devices)
    if batch % n:
        raise TrainError(
            f"data_parallel: a batch of {batch} samples does not split evenly across {n} "
            f"{devices[0].platform} devices; use a batch that is a multiple of {n}"
        )
    mesh = Mesh(np.array(devices), ("data",))
    label = f"{devices[0].platform} x{n} (data-parallel)"
    key = (devices[0].platform, tuple(d.id for d in devices), "data")
    return Placement(
        NamedSharding(mesh, PartitionSpec()),  # type: ignore[no-untyped-call]
        NamedSharding(mesh, PartitionSpec("data")),  # type: ignore[no-untyped-call]
        label,
        n,
        key,
    )


def enable_compilation_cache(path: str | Path) -> None:
    """Turn on JAX's persistent compilation cache at ``path`` for this process (every entry,
    however quick its compile), so a later process pays no XLA compile for the same program."""
    directory = Path(path).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainError(
            f"cache directory {directory}: cannot create it ({exc.strerror})"
        ) from None
    jax.config.update("jax_compilation_cache_dir", str(directory))  # type: ignore[no-untyped-call]
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # type: ignore[no-untyped-call]
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)  # type: ignore[no-untyped-call]
