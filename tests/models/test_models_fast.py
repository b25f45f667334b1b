"""The recognizer's fast paths against facenet-pytorch's own network, on real LFW faces.

The float32 default (batch norms folded, channels-last) must give facenet-pytorch's embeddings
to within float32 rounding. The opt-in bf16 path (autocast, channels-last) is bounded on
embeddings and, with the probes cropped at their true face boxes, on rank-1 (identical here); its
effect on a whole experiment's rank-1 is measured in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from facenet_pytorch import InceptionResnetV1

from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, simulate
from evalharness.config.experiment import ProtocolSettings
from evalharness.config.profile import load_profile
from evalharness.data.folder import open_dataset
from evalharness.data.images import load_image
from evalharness.errors import ConfigError
from evalharness.evaluation.matching import identity_scores
from evalharness.evaluation.metrics import identification_rate, mate_ranks
from evalharness.evaluation.protocol import build_split
from evalharness.models import get_detector, get_recognizer
from evalharness.models.facenet import (
    bf16_supported,
    casia_weights,
    fold_batch_norms,
    resolve_numerics,
)
from evalharness.seeding import probe_generator

CPU = torch.device("cpu")
needs_bf16 = pytest.mark.skipif(not bf16_supported(CPU), reason="CPU lacks native bfloat16")
#: The LFW deep-funneled face box at the set's fixed eye centres (x1, y1, x2, y2 px).
LFW_FACE_BOX = np.array([[80.0, 70.0, 170.0, 180.0]], np.float32)


def test_numerics_resolves_and_refuses_unknown_values() -> None:
    assert resolve_numerics("fp32", CPU) == "fp32"
    assert resolve_numerics("auto", CPU) == ("bf16" if bf16_supported(CPU) else "fp32")
    assert get_recognizer("facenet-casia", CPU).numerics == "fp32"  # the default
    with pytest.raises(ConfigError, match="numerics must be one of auto, fp32, bf16"):
        resolve_numerics("fp16", CPU)


def test_fp32_default_equals_facenet_pytorch_network_on_lfw_faces(lfw_mini: Path) -> None:
    records = open_dataset(lfw_mini).records[:16]
    images = torch.stack([load_image(record.path) for record in records])
    recognizer = get_recognizer("facenet-casia", CPU)
    inputs = recognizer.crops(images, LFW_FACE_BOX.repeat(len(images), 0))
    stock = InceptionResnetV1().eval()
    stock.load_state_dict(casia_weights()[0])
    with torch.inference_mode():
        reference = stock(inputs)
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))
                   for m in fold_batch_norms(InceptionResnetV1().eval()).modules())
    torch.testing.assert_close(recognizer.forward(inputs), reference, rtol=0, atol=1e-5)


def test_folding_keeps_batch_norms_with_real_statistics(lfw_mini: Path) -> None:
    # CASIA's batch norms are pure offsets (the TensorFlow graph folded their scales), so give
    # them scales and statistics, as VGGFace2's have, for the folding to be exercised.
    network = InceptionResnetV1().eval()
    network.load_state_dict(casia_weights()[0])
    generator = torch.Generator().manual_seed(7)
    for module in network.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            n = module.num_features
            module.weight.data = 0.5 + torch.rand(n, generator=generator)
            module.running_mean = 0.1 * torch.randn(n, generator=generator)
            module.running_var = 0.5 + 1.5 * torch.rand(n, generator=generator)
    records = open_dataset(lfw_mini).records[:8]
    images = torch.stack([load_image(record.path) for record in records])
    inputs = get_recognizer("facenet-casia", CPU).crops(images, LFW_FACE_BOX.repeat(len(images), 0))
    with torch.inference_mode():
        reference = network(inputs)
        folded = fold_batch_norms(network)(inputs)
    torch.testing.assert_close(folded, reference, rtol=0, atol=1e-5)


@needs_bf16
def test_bf16_embeddings_match_fp32_on_lfw_faces(lfw_mini: Path) -> None:
    records = open_dataset(lfw_mini).records[:12]
    images = torch.stack([load_image(record.path) for record in records])
    boxes = LFW_FACE_BOX.repeat(len(images), 0)
    exact = get_recognizer("facenet-casia", CPU, numerics="fp32")
    fast = get_recognizer("facenet-casia", CPU, numerics="bf16")
    assert (exact.numerics, fast.numerics) == ("fp32", "bf16")
    reference = exact.embed(images, boxes, None)
    approximate = fast.embed(images, boxes, None)
    assert approximate.dtype == torch.float32
    assert torch.allclose(approximate.norm(dim=1), torch.ones(len(images)), atol=1e-5)
    cosine = (reference * approximate).sum(dim=1)
    assert cosine.min() > 0.995, cosine
    # Different people stay far apart: the bf16 error is far below the identity signal.
    assert (approximate @ reference.T).fill_diagonal_(-1).max() < cosine.min()


def _rank1(recognizer, gallery_images, probe_images, probe_boxes, mates) -> tuple[float, np.ndarray]:
    gallery = recognizer.embed(gallery_images, LFW_FACE_BOX.repeat(len(gallery_images), 0), None)
    probes = recognizer.embed(probe_images, probe_boxes, None)
    scores = identity_scores(probes.numpy(), gallery.numpy(), np.arange(len(gallery)), len(gallery))
    ranks = mate_ranks(scores, mates)
    return identification_rate(ranks, np.ones(len(ranks), bool)), scores


@needs_bf16
@pytest.mark.slow
@pytest.mark.parametrize("profile_name", ["undegraded", "ir-two-lane"])
def test_bf16_keeps_rank1_within_half_a_point_or_one_probe(lfw_mini: Path, profile_name: str) -> None:
    """The 0.5-point rule for bf16, at this sample's resolution: one probe of lfw-mini's 140 is
    worth 0.71 points, so half a point would demand that no probe flip (an Intel Xeon with native
    bfloat16 flipped one under ir-two-lane, 2026-12-02). A net change of one probe is allowed, two
    are not; the rule over many probes is measured on the default experiment (README, -0.04
    points pooled)."""
    dataset = open_dataset(lfw_mini)
    split = build_split(dataset.records, ProtocolSettings(mated_per_identity=1), seed=20261126)
    identities = split.gallery_identities()
    gallery_images = torch.stack([load_image(dataset.root / i.relpath) for i in split.gallery])
    mates = np.array([identities.index(i.identity) for i in split.mated])
    sources = torch.stack([load_image(dataset.root / i.relpath) for i in split.mated])
    if profile_name == "undegraded":
        probe_images, probe_boxes = sources, LFW_FACE_BOX.repeat(len(sources), 0)
    else:
        capture = simulate(sources, torch.tensor(LFW_DEEPFUNNELED_EYES_PX).repeat(len(sources), 1, 1),
                           load_profile(profile_name, {}),
                           [probe_generator(1, "fast", i.relpath) for i in split.mated])
        probe_images = capture.images.expand(-1, 3, -1, -1)
        probe_boxes = capture.face_boxes.numpy()
    exact, exact_scores = _rank1(get_recognizer("facenet-casia", CPU, numerics="fp32"),
                                 gallery_images, probe_images, probe_boxes, mates)
    fast, fast_scores = _rank1(get_recognizer("facenet-casia", CPU, numerics="bf16"),
                               gallery_images, probe_images, probe_boxes, mates)
    assert len(mates) >= 100
    assert abs(fast - exact) <= max(0.005, 1.0 / len(mates)) + 1e-9, (profile_name, exact, fast)
    assert np.abs(fast_scores - exact_scores).max() < 0.05


def test_unknown_model_names_suggest_the_nearest() -> None:
    with pytest.raises(ConfigError, match=r"unknown detector 'mtccn' \(did you mean 'mtcnn'\?\); available: "):
        get_detector("mtccn", CPU)
    with pytest.raises(ConfigError, match=r"unknown recognizer 'facenet-casa' \(did you mean 'facenet-casia'\?\)"):
        get_recognizer("facenet-casa", CPU)
    with pytest.raises(ConfigError, match=r"unknown detector 'zzz'; available: "):
        get_detector("zzz", CPU)
