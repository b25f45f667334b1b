"""Batched model calls that survive a GPU running out of memory.

A batch size that fits one GPU may not fit a smaller one, or one shared with another job.
:func:`split_on_oom` retries a batch that ran out of CUDA memory as two halves (recursively),
with a warning, instead of ending the run. Each probe's result does not depend on its batch
(every probe has its own random stream), so the rows are those of an unsplit run.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

from evalharness.errors import HarnessError

log = logging.getLogger("evalharness.run")

Result = TypeVar("Result", list, torch.Tensor, np.ndarray)


def split_on_oom(call: Callable[..., Result], *batched: Any) -> Result:
    """``call(*batched)``; if CUDA runs out of memory, ``call`` on each half, joined.

    Parameters
    ----------
    call : callable
        A batched model call such as ``detector.detect`` or ``recognizer.embed``, returning one
        result per item: a list, a tensor or an array whose first axis is the batch.
    *batched : sequences of equal length B (lists, tensors ``(B, ...)``, arrays ``(B, ...)``)
        The call's arguments, split alike along their first axis.

    Returns
    -------
    The result of ``call`` on the whole batch, in order.

    Raises
    ------
    HarnessError
        One item alone does not fit in GPU memory.
    """
    try:
        return call(*batched)
    except torch.cuda.OutOfMemoryError:
        size = len(batched[0])
        if size <= 1:
            raise HarnessError("GPU out of memory on a single image; free the GPU or use "
                               "--device cpu") from None
    # Retried outside the except block, so that the failed attempt's tensors can be freed.
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    half = (size + 1) // 2
    message = (f"GPU out of memory on a batch of {size}; retrying as {half} + {size - half} "
               "(set a smaller batch_size to avoid the retry)")
    log.warning(message)
    warnings.warn(message, RuntimeWarning, stacklevel=2)
    first = split_on_oom(call, *(argument[:half] for argument in batched))
    second = split_on_oom(call, *(argument[half:] for argument in batched))
    return _join(first, second)


def _join(first: Result, second: Result) -> Result:
    if isinstance(first, torch.Tensor):
        return torch.cat([first, second])
    if isinstance(first, np.ndarray):
        return np.concatenate([first, second])
    return [*first, *second]


def batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """``items`` in consecutive runs of ``size`` (the last may be shorter)."""
    return [items[start:start + size] for start in range(0, len(items), size)]
