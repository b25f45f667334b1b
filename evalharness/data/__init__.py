"""Datasets: image files in, checked tensors and fingerprinted folder-per-identity datasets out."""

from evalharness.data.folder import (
    IMAGE_EXTENSIONS,
    FaceRecord,
    FolderDataset,
    SkippedFile,
    open_dataset,
)
from evalharness.data.images import MAX_IMAGE_PIXELS, ImageError, load_image, read_image

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "FaceRecord",
    "FolderDataset",
    "ImageError",
    "SkippedFile",
    "load_image",
    "open_dataset",
    "read_image",
]
