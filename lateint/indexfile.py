"""The on-disk format of a ``LateIndex``: one safetensors file, versioned and checksummed.

safetensors stores named arrays after a JSON header and cannot run code on load (no
pickle). lateint adds to the header's metadata:

- ``format``: ``"lateint-index"``, so a model's weights or another program's file is
  refused by name;
- ``version``: the layout below; a newer version than this code reads is refused;
- ``sha256``: over every array's name, dtype, shape and bytes in name order, so a
  flipped bit anywhere in the data is caught, not searched;
- ``config`` and ``codec``: the ``IndexConfig`` and the compression's scalars, as JSON.

Arrays: ``centroids``, ``codes``, ``token_cells``, ``offsets``, the codebook the
compression needs (``scale``; ``cutoffs`` and ``bucket_values``), and the document ids
as UTF-8 bytes (``doc_id_bytes``) with their ``doc_id_offsets``. The cell -> documents
lists are derived on load, not stored.

Left out: memory mapping and partial loads; the whole index is read into memory.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from .compress import Compressed

FORMAT = "lateint-index"
VERSION = 1


class IndexFileError(ValueError):
    """The file is not a lateint index this code can read, or it is damaged."""


def save(index, path) -> None:
    """Write ``index`` (a ``LateIndex``) to ``path``, replacing the file atomically."""
    store = index.store
    ids = [d.encode("utf-8") for d in index.doc_ids]
    arrays = {
        "centroids": index.centroids,
        "codes": store.codes,
        "token_cells": index.token_cells,
        "offsets": index.offsets,
        "doc_id_bytes": np.frombuffer(b"".join(ids), dtype=np.uint8),
        "doc_id_offsets": np.concatenate([[0], np.cumsum([len(b) for b in ids])]).astype(np.int64),
    }
    for name in ("scale", "cutoffs", "bucket_values"):
        if getattr(store, name) is not None:
            arrays[name] = getattr(store, name)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    metadata = {
        "format": FORMAT,
        "version": str(VERSION),
        "config": json.dumps(asdict(index.config)),
        "codec": json.dumps({"method": store.method, "dim": store.dim, "bits": store.bits}),
        "sha256": _checksum(arrays),
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    save_file(arrays, str(tmp), metadata=metadata)
    tmp.replace(path)  # a crash mid-write never leaves a half-written index under the real name


def load(path):
    """Read a ``LateIndex`` from ``path``; raise ``IndexFileError`` saying what is wrong."""
    from .index import IndexConfig, LateIndex

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no index file at {path}")
    metadata = _metadata(path)
    if metadata.get("format") != FORMAT:
        raise IndexFileError(f"{path} is a safetensors file but not a lateint index (format: {metadata.get('format')!r})")
    version = metadata.get("version", "")
    if not version.isdigit() or int(version) > VERSION:
        raise IndexFileError(f"{path} has index format version {version!r}; this lateint reads versions up to {VERSION}: upgrade lateint")
    try:
        arrays = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise IndexFileError(f"{path} is truncated or corrupt: {error}") from None
    if _checksum(arrays) != metadata.get("sha256"):
        raise IndexFileError(f"{path} is corrupt: its data does not match the checksum written with it")
    config, codec = IndexConfig(**json.loads(metadata["config"])), json.loads(metadata["codec"])
    store = Compressed(
        codec["method"], codec["dim"], arrays["codes"], bits=codec["bits"],
        centroid_ids=arrays["token_cells"] if codec["method"] == "residual" else None,
        scale=arrays.get("scale"), centroids=arrays["centroids"] if codec["method"] == "residual" else None,
        cutoffs=arrays.get("cutoffs"), bucket_values=arrays.get("bucket_values"),
    )
    raw, ends = arrays["doc_id_bytes"].tobytes(), arrays["doc_id_offsets"]
    doc_ids = [raw[a:b].decode("utf-8") for a, b in zip(ends[:-1], ends[1:])]
    try:
        return LateIndex(config, arrays["centroids"], store, arrays["token_cells"], arrays["offsets"], doc_ids)
    except ValueError as error:
        raise IndexFileError(f"{path} holds an inconsistent index: {error}") from None


def _metadata(path: Path) -> dict[str, str]:
    """The header's metadata, read without touching the data (safetensors: 8-byte
    little-endian header length, then that much JSON)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if n <= 0 or 8 + n > size or n > 100_000_000:
            raise IndexFileError(f"{path} is not a lateint index file (no safetensors header; truncated or another format)")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise IndexFileError(f"{path} is not a lateint index file (its header is not valid JSON)") from None
    return header.get("__metadata__") or {} if isinstance(header, dict) else {}


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()
