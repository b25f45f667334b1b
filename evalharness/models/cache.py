"""Where converted weights live, how they are written, and how weights are fingerprinted.

Fingerprints
    A weights *file* used as it is (dlib's ``.dat``, an ONNX model, TensorFlow's ``.pb``) is
    identified by the sha256 of its bytes. A torch *state dict* is identified by
    :func:`state_dict_sha256`, a sha256 over its tensors in sorted key order (name, dtype, shape,
    little-endian bytes), so the fingerprint depends on the numbers only, not on the pickle or
    zip layout that a given torch version writes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import platformdirs
import torch

from evalharness.errors import ModelError

#: Environment variable that overrides the cache directory.
CACHE_ENV = "EVALHARNESS_CACHE"


def cache_dir() -> Path:
    """The directory for converted weights: ``$EVALHARNESS_CACHE`` or the user cache directory.

    The user cache directory is platformdirs' (``~/.cache/evalharness`` on Linux). It is not
    created here.
    """
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("evalharness"))


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def state_dict_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """Hex sha256 of a state dict's contents, independent of how it was serialised.

    Each tensor contributes its key, dtype, shape and contiguous little-endian CPU bytes, in
    sorted key order.
    """
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        array = state_dict[key].detach().to("cpu").numpy()
        digest.update(f"{key}|{array.dtype}|{array.shape}\n".encode())
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.hexdigest()


def unwritable_problem() -> str | None:
    """None when the cache folder can be made and written (converted weights and the runs'
    embedding caches go there); else what stops it, naming the folder and :data:`CACHE_ENV`.
    ``evalharness doctor``'s check: it makes the folder, as the first run would."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return _unwritable(folder, error)
    return None


def _unwritable(folder: Path, error: OSError) -> str:
    return f"{folder}: cannot write there ({error}); set {CACHE_ENV} to a writable folder"


def save_atomically(state_dict: dict[str, torch.Tensor], path: Path) -> None:
    """Write ``state_dict`` to ``path`` via a temporary file and a rename.

    A reader never sees a half-written file, and two processes converting at once both end
    with a complete one. A cache folder that cannot be written is a :class:`ModelError` naming
    it and :data:`CACHE_ENV`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    except OSError as error:
        raise ModelError(_unwritable(path.parent, error)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save({key: state_dict[key] for key in sorted(state_dict)}, stream)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the cache is shareable
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_state_dict(path: Path, expected_sha256: str | None = None) -> tuple[dict, str]:
    """Load a state dict with ``weights_only=True`` and fingerprint it.

    Parameters
    ----------
    path
        A file written by :func:`torch.save` holding a ``{name: tensor}`` dict.
    expected_sha256
        When given, the :func:`state_dict_sha256` the contents must have.

    Returns
    -------
    state_dict, sha256

    Raises
    ------
    ModelError
        The file cannot be read as a plain state dict, or its fingerprint is not the expected one.
    """
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  torch raises many kinds for a bad file
        raise ModelError(f"{path}: not a readable torch state dict ({error})") from error
    if not isinstance(state_dict, dict) or not all(
            isinstance(value, torch.Tensor) for value in state_dict.values()):
        raise ModelError(f"{path}: expected a dict of tensors (a state dict)")
    sha256 = state_dict_sha256(state_dict)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ModelError(f"{path}: weights sha256 {sha256} differs from the expected "
                         f"{expected_sha256}; the file is corrupt or not the expected weights")
    return state_dict, sha256
