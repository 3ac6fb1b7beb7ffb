"""The on-disk format of an index: named arrays in one safetensors file, versioned and checksummed.

safetensors stores named arrays after a JSON header and cannot run code on load (no
pickle). lateint adds to the header's metadata:

- ``format``: ``"lateint-index"``, so a model's weights or another program's file is
  refused by name;
- ``version``: the layout's version; a newer one than this code reads, or an older
  one it no longer reads, is refused with what to do;
- ``sha256``: over every array's name, dtype, shape and bytes in name order, so a
  flipped bit anywhere in the data is caught, not searched;
- whatever string fields the caller adds (``plaid.py`` stores its settings as JSON).

This module knows files, not indexes: ``PlaidIndex.save`` and ``PlaidIndex.load`` say which
arrays make an index.

Left out: memory mapping and partial loads; the whole file is read into memory.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

FORMAT = "lateint-index"
VERSION = 2  # 2: residual codes carry a length code in their header (version 1 files: rebuild)


class IndexFileError(ValueError):
    """The file is not a lateint index this code can read, or it is damaged."""


def save(path, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write ``arrays`` and string ``metadata`` to ``path``, replacing the file atomically."""
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    header = {**metadata, "format": FORMAT, "version": str(VERSION), "sha256": _checksum(arrays)}
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    save_file(arrays, str(tmp), metadata=header)
    tmp.replace(path)  # a crash mid-write never leaves a half-written index under the real name


def load(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and metadata of the file at ``path``; ``IndexFileError`` says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no index file at {path}")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError) as error:  # no valid header, or data shorter than the header says
        raise IndexFileError(
            f"{path} is not a lateint index file, or it is truncated or corrupt ({error})"
        ) from None
    if metadata.get("format") != FORMAT:
        raise IndexFileError(
            f"{path} is a safetensors file but not a lateint index (format: {metadata.get('format')!r})"
        )
    version = metadata.get("version", "")
    if not version.isdigit() or int(version) > VERSION:
        raise IndexFileError(
            f"{path} has index format version {version!r}; this lateint reads versions up to {VERSION}: "
            "upgrade lateint"
        )
    if int(version) < VERSION:
        raise IndexFileError(
            f"{path} has index format version {version}, from an older lateint whose residual codes "
            f"lack the length code that version {VERSION} stores: rebuild the index"
        )
    try:
        arrays = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise IndexFileError(f"{path} is truncated or corrupt: {error}") from None
    if _checksum(arrays) != metadata.get("sha256"):
        raise IndexFileError(f"{path} is corrupt: its data does not match the checksum written with it")
    return arrays, metadata


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()
