"""Nothing the harness reads can run code: no pickle anywhere in the package, ``torch.load``
only with ``weights_only=True`` (a malicious weights file is refused, its payload never run)."""

from __future__ import annotations

import ast
import os
import pickle
from pathlib import Path

import pytest
import torch

from evalharness.errors import ModelError
from evalharness.models.cache import load_state_dict

PACKAGE = Path(__file__).resolve().parents[1] / "evalharness"
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def _calls(tree: ast.AST, dotted: str) -> list[ast.Call]:
    """Calls written as ``a.b(...)`` for ``dotted = "a.b"``."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and ast.unparse(node.func) == dotted]


def _keyword(call: ast.Call, name: str) -> object:
    return next((ast.literal_eval(k.value) for k in call.keywords if k.arg == name), None)


@pytest.fixture(scope="module")
def sources() -> dict[Path, ast.AST]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in files}


def test_no_pickle_module_is_imported(sources):
    for path, tree in sources.items():
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {name.split(".")[0] for name in names} & UNSAFE_MODULES, (path, names)


def test_torch_load_only_with_weights_only(sources):
    loads = [(path, call) for path, tree in sources.items() for call in _calls(tree, "torch.load")]
    assert loads  # the weights loader is found, so the check below is not vacuous
    for path, call in loads:
        assert _keyword(call, "weights_only") is True, f"{path}:{call.lineno}"


def test_no_pickled_arrays_or_tables(sources):
    for path, tree in sources.items():
        for call in _calls(tree, "np.load"):
            assert _keyword(call, "allow_pickle") is not True, f"{path}:{call.lineno}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("read_pickle", "to_pickle"), f"{path}:{node.lineno}"


class _Payload:
    """Unpickling this runs ``os.system`` (a stand-in for an attacker's code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_weights_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "payload-ran"
    weights = tmp_path / "weights.pt"
    weights.write_bytes(pickle.dumps({"layer.weight": _Payload(marker)}, protocol=2))
    torch.save({"x": _Payload(marker)}, tmp_path / "zipped.pt")
    for path in (weights, tmp_path / "zipped.pt"):
        with pytest.raises(ModelError, match=f"{path}: not a readable torch state dict"):
            load_state_dict(path)
    assert not marker.exists()


def test_weights_of_another_fingerprint_are_refused(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"layer.weight": torch.ones(2, 2)}, path)
    _, sha256 = load_state_dict(path)
    torch.save({"layer.weight": torch.ones(2, 2) * 1.001}, path)
    with pytest.raises(ModelError, match=f"differs from the expected {sha256}"):
        load_state_dict(path, expected_sha256=sha256)
