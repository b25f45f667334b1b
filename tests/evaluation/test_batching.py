"""Batched model calls halve their batch when the GPU runs out of memory, keep the order of
results, warn once per split, and give up clearly when one image does not fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evalharness.errors import HarnessError
from evalharness.evaluation.batching import split_on_oom


class FakeGpuModel:
    """Doubles its input, but runs out of memory on batches larger than ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.batch_sizes: list[int] = []

    def __call__(self, images: torch.Tensor, boxes: np.ndarray) -> torch.Tensor:
        self.batch_sizes.append(len(images))
        if len(images) > self.capacity:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        assert len(boxes) == len(images)  # every argument is split alike
        return images * 2 + torch.from_numpy(boxes[:, :1])


def test_fits_first_time_is_one_call():
    model = FakeGpuModel(capacity=8)
    images, boxes = torch.arange(8.0)[:, None], np.zeros((8, 4), np.float32)
    assert torch.equal(split_on_oom(model, images, boxes), images * 2)
    assert model.batch_sizes == [8]


def test_out_of_memory_halves_until_it_fits_and_keeps_order():
    model = FakeGpuModel(capacity=3)
    images, boxes = torch.arange(10.0)[:, None], np.arange(40, dtype=np.float32).reshape(10, 4)
    with pytest.warns(RuntimeWarning) as warned:
        result = split_on_oom(model, images, boxes)
    messages = [str(w.message) for w in warned]
    assert len(messages) == 3  # 10 -> 5 + 5, then each 5 -> 3 + 2
    assert messages[0].startswith("GPU out of memory on a batch of 10; retrying as 5 + 5")
    assert torch.equal(result, images * 2 + torch.from_numpy(boxes[:, :1]))
    assert model.batch_sizes[:3] == [10, 5, 3] and max(model.batch_sizes[1:]) <= 5
    assert sum(size for size in model.batch_sizes if size <= 3) == 10  # each image run once


def test_list_results_are_joined_in_order():
    def detect(images: list[int]) -> list[int]:
        if len(images) > 2:
            raise torch.cuda.OutOfMemoryError("out of memory")
        return [-image for image in images]

    with pytest.warns(RuntimeWarning):
        assert split_on_oom(detect, list(range(7))) == [-i for i in range(7)]


def test_one_image_too_large_is_a_clear_error():
    with pytest.warns(RuntimeWarning), pytest.raises(HarnessError, match="single image.*--device cpu"):
        split_on_oom(FakeGpuModel(capacity=0), torch.ones(2, 1), np.zeros((2, 4), np.float32))


def test_other_errors_pass_through():
    def broken(images: torch.Tensor) -> torch.Tensor:
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        split_on_oom(broken, torch.ones(4, 1))
