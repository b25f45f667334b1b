"""The fast MTCNN cascade (batched crops, channels-last) against facenet-pytorch's ``MTCNN.detect``.

On real LFW photographs, at full size and as small stored faces, the same set of faces must be
found on at least 99% of images and every matched box must overlap the stock one with IoU >= 0.99.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from facenet_pytorch import MTCNN
from torchvision.ops import box_iou

from evalharness.data.folder import open_dataset
from evalharness.data.images import load_image
from evalharness.models.mtcnn import MtcnnDetector
from evalharness.models.mtcnn_fast import crop_resize

CPU = torch.device("cpu")


def _stock(images: torch.Tensor) -> list[np.ndarray]:
    """facenet-pytorch's own detector, as documented, on ``(B, 3, H, W)`` RGB in [0, 1]."""
    mtcnn = MTCNN(keep_all=True, select_largest=False, device=CPU)
    boxes, _ = mtcnn.detect(images.permute(0, 2, 3, 1) * 255)
    return [np.zeros((0, 4)) if box is None else np.asarray(box, np.float64) for box in boxes]


def _agreement(fast: list, stock: list[np.ndarray]) -> tuple[float, float]:
    """Share of images with the same number of faces, and the lowest IoU of matched boxes."""
    same, lowest = 0, 1.0
    for found, reference in zip(fast, stock, strict=True):
        if len(found) != len(reference):
            continue
        same += 1
        if len(reference):
            iou = box_iou(torch.from_numpy(found.boxes).double(), torch.from_numpy(reference))
            lowest = min(lowest, float(iou.max(dim=0).values.min()))
    return same / len(stock), lowest


def _check_against_stock(root: Path, side_px: int, count: int) -> None:
    records = open_dataset(root).records
    records = records[:: len(records) // count][:count]
    images = torch.stack([load_image(record.path) for record in records])
    if side_px != images.shape[-1]:
        # Small stored faces (ir-two-lane's canvas), where most candidates are near the limit.
        images = F.interpolate(images, size=(side_px, side_px), mode="area")
    fast = []
    for batch in images.split(32):
        fast += MtcnnDetector(CPU, fast=True).detect(batch)
    stock = [boxes for batch in images.split(32) for boxes in _stock(batch)]
    assert sum(len(found) for found in fast) >= len(images) * 0.9  # faces were found at all
    same, lowest = _agreement(fast, stock)
    assert same >= 0.99 and lowest >= 0.99, (same, lowest)


@pytest.mark.parametrize("side_px", [250, 56])
def test_batched_mtcnn_finds_the_stock_faces(lfw_mini: Path, side_px: int) -> None:
    _check_against_stock(lfw_mini, side_px, 32)


@pytest.mark.slow
@pytest.mark.parametrize("side_px", [250, 56])
def test_batched_mtcnn_finds_the_stock_faces_on_640_images(lfw_devtrain: Path, side_px: int) -> None:
    _check_against_stock(lfw_devtrain / "images", side_px, 640)


def test_crop_resize_equals_per_box_area_resize() -> None:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand((2, 3, 40, 50), generator=generator) * 255
    y, ey = np.array([1, 5, 1, 10]), np.array([20, 24, 40, 12])
    x, ex = np.array([1, 7, 30, 50]), np.array([20, 26, 50, 50])
    inds = torch.tensor([0, 1, 1, 0])
    batched = crop_resize(images, inds, y, ey, x, ex, 24)
    for k in range(4):
        crop = images[inds[k], :, y[k] - 1:ey[k], x[k] - 1:ex[k]][None]
        assert torch.equal(batched[k], F.interpolate(crop, size=(24, 24), mode="area")[0])


def test_crop_resize_refuses_a_box_outside_the_image() -> None:
    with pytest.raises(ValueError, match="wholly outside"):
        crop_resize(torch.zeros((1, 3, 10, 10)), torch.tensor([0]), np.array([5]),
                    np.array([4]), np.array([1]), np.array([3]), 24)


@pytest.mark.parametrize("fast", [True, False])
def test_an_image_smaller_than_the_smallest_face_holds_none(lfw_mini: Path, fast: bool) -> None:
    """Under ``min_face_size`` (20 px) on its short side an image cannot hold a face the cascade
    looks for: none is found (the cascade itself has no pyramid level to run and would fail),
    and the other images of the call are still detected."""
    photo = load_image(next(iter(open_dataset(lfw_mini).records)).path)
    tiny = F.interpolate(photo[None], size=(19, 40), mode="area")[0]
    found = MtcnnDetector(CPU, fast=fast).detect([tiny, photo])
    assert len(found[0]) == 0 and len(found[1]) >= 1
