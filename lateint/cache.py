"""An on-disk cache of arrays, so that a corpus is encoded once and shared.

Encoding is the slow part of every chapter (minutes per corpus on 2 cores), so the
backbone's output for a corpus is stored under a key built from everything that
determines it (model, tokenization settings, corpus hash) and reused by every chapter,
test and benchmark on this machine. Arrays are ``.npy`` files written with
``allow_pickle=False``; an entry appears atomically (written to a temporary folder,
then renamed), so an interrupted run leaves no half-written entry behind.

The folder is ``$LATEINT_CACHE``, else ``~/.cache/lateint``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Callable

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


def load_or_compute(
    kind: str, key: str, compute: Callable[[], dict[str, np.ndarray]], meta: dict | None = None
) -> dict[str, np.ndarray]:
    """Return the arrays stored under ``kind/key``, computing and storing them if absent.

    A damaged entry (missing or unreadable file) is reported, removed and recomputed.
    """
    folder = cache_dir() / kind / key
    if (folder / "meta.json").is_file():
        try:
            names = json.loads((folder / "meta.json").read_text())["arrays"]
            return {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in names}
        except (OSError, ValueError, KeyError) as e:
            warnings.warn(f"cache entry {folder} is damaged ({e}); recomputing", stacklevel=2)
            shutil.rmtree(folder, ignore_errors=True)
    arrays = compute()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
    try:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps({"arrays": list(arrays), **(meta or {})}, indent=1))
        try:
            tmp.rename(folder)
        except OSError:  # another process stored it first; theirs is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return arrays
