"""An on-disk cache of arrays, so that a corpus is encoded once and shared.

Encoding is the slow part of every chapter (minutes per corpus on 2 cores), so the
backbone's output for a corpus is stored under a key built from everything that
determines it (model, tokenization settings, corpus hash) and reused by every chapter,
test and benchmark on this machine. Arrays are ``.npy`` files written with
``allow_pickle=False``; an entry appears atomically (written to a temporary folder,
then renamed), so an interrupted run leaves no half-written entry behind.

Keys: :func:`key_for` hashes settings, :func:`array_key` an array's bytes and
:func:`source_key` the source of the modules that compute an entry, so a change to that
code computes it again.

The folder is ``$LATEINT_CACHE``, else ``~/.cache/lateint``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

FORMAT_VERSION = 1


def cache_dir() -> Path:
    return Path(os.environ.get("LATEINT_CACHE") or Path.home() / ".cache" / "lateint")


def key_for(**parts) -> str:
    """A stable key from JSON-serializable parts.

    >>> key_for(a=1, b="x") == key_for(b="x", a=1)
    True
    """
    blob = json.dumps({"format": FORMAT_VERSION, **parts}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def array_key(array: np.ndarray | None) -> str | None:
    """A hash of an array's dtype, shape and bytes (None stays None).

    >>> array_key(np.zeros(2)) == array_key(np.zeros(2)), array_key(np.zeros(2)) == array_key(np.zeros(3))
    (True, False)
    """
    if array is None:
        return None
    a = np.ascontiguousarray(array)
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()


def source_key(*modules: ModuleType) -> str:
    """A hash of the source files of ``modules``: part of the key of anything they compute.

    >>> import lateint.maxsim, lateint.metrics
    >>> source_key(lateint.maxsim) != source_key(lateint.maxsim, lateint.metrics)
    True
    """
    return key_for(code=[hashlib.sha256(Path(m.__file__).read_bytes()).hexdigest() for m in modules])


@dataclass
class Entry:
    """What the cache stores under one key: named arrays and named scalars (JSON)."""

    arrays: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)


def load_or_compute(kind: str, key: str, compute: Callable[[], Entry]) -> Entry:
    """Return the entry stored under ``kind/key``, computing and storing it if absent.

    A damaged entry (missing or unreadable file) is reported, removed and recomputed.
    """
    folder = cache_dir() / kind / key
    if (folder / "meta.json").is_file():
        try:
            meta = json.loads((folder / "meta.json").read_text())
            arrays = {
                name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in meta.pop("arrays")
            }
            return Entry(arrays, meta)
        except (OSError, ValueError, KeyError) as e:
            warnings.warn(f"cache entry {folder} is damaged ({e}); recomputing", stacklevel=2)
            shutil.rmtree(folder, ignore_errors=True)
    entry = compute()
    if "arrays" in entry.meta:
        raise ValueError('"arrays" is the one metadata name an entry cannot use (it lists the arrays)')
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
    try:
        for name, array in entry.arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps({"arrays": list(entry.arrays), **entry.meta}, indent=1))
        try:
            tmp.rename(folder)
        except OSError:  # another process stored it first; theirs is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return entry
