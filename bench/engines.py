"""xtr-warp-rs (WARP) and fast-plaid (PLAID) on lateint's own token vectors.

Both engines are built against torch 2.11, and lateint pins 2.13, so this script runs
in a virtual environment of its own (``.venv-peers``, which ``make bench-peers``
creates) and imports nothing from lateint. ``bench/peers.py --export DIR`` writes the
vectors; this script indexes them with each engine at 2 bits per dimension (the size
of lateint's residual codes), times one query at a time at 1 and 2 threads over a grid
of each engine's own knobs, and writes every query's top 10 to
``DIR/engine-NAME.jsonl``; ``bench/peers.py --score DIR`` turns those into nDCG@10 and
prints them beside lateint's index. ``bench/engines.py DIR fast-plaid`` runs one engine.
A setting whose first 10 queries take more than ``TOO_SLOW_MS`` each (median) is
recorded as too slow rather than timed on every query. Never run by CI.

The knobs, as the engines document them:
- xtr-warp-rs: ``nprobe`` centroids probed per query token; ``t_prime`` the similarity
  it imputes for a document token it did not score (WARP was made for XTR models,
  which are trained for that imputation); ``bound`` centroids considered before the
  top ``nprobe``; left at its defaults unless swept.
- fast-plaid: ``n_ivf_probe`` cells probed per query token and ``n_full_scores``
  documents scored exactly (its defaults, 8 and 4096, score almost every SciFact
  document and are made for GPUs); searched with ``n_processes=1``, since on 2 threads
  its worker processes made a query slower, not faster, on a small test index.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

TOO_SLOW_MS = 500.0
GRIDS = {
    "xtr-warp-rs": [{"nprobe": p} for p in (4, 8, 16, 32, 64)],
    "fast-plaid": [{"n_ivf_probe": p, "n_full_scores": n} for p in (2, 4, 8) for n in (64, 256, 1024)],
}


def split(flat: np.ndarray, lengths: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(a) for a in np.split(flat, np.cumsum(lengths)[:-1])]


def build(engine: str, docs: list[torch.Tensor], folder: str):
    if engine == "xtr-warp-rs":
        from xtr_warp import XTRWarp

        index = XTRWarp(index=folder)
        index.create(embeddings_source=docs, device="cpu", nbits=2, show_progress=False)
        index.load(device="cpu", dtype=torch.float32)
        return lambda q, threads, **knobs: index.search(
            queries_embeddings=q[None], top_k=10, num_threads=threads, show_progress=False, **knobs
        )[0]
    from fast_plaid import search

    index = search.FastPlaid(index=folder, device="cpu")
    index.create(documents_embeddings=docs, nbits=2)
    return lambda q, threads, **knobs: index.search(
        queries_embeddings=q[None], top_k=10, show_progress=False, n_processes=1, **knobs
    )[0]


def main(folder: Path, engines: list[str]) -> None:
    docs = split(np.load(folder / "doc_vectors.npy"), np.load(folder / "doc_lengths.npy"))
    queries = split(np.load(folder / "query_vectors.npy"), np.load(folder / "query_lengths.npy"))
    for engine in engines:
        grid = GRIDS[engine]
        with open(folder / f"engine-{engine}.jsonl", "w") as out:
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                search = build(engine, docs, str(Path(tmp) / "index"))
                build_s = time.perf_counter() - started
                for threads in (1, 2):
                    torch.set_num_threads(threads)
                    for knobs in grid:
                        for q in queries[:2]:  # warm-up
                            search(q, threads, **knobs)
                        found, ms = [], []
                        for i, q in enumerate(queries):
                            if i == 10 and statistics.median(ms) > TOO_SLOW_MS:
                                break
                            start = time.perf_counter()
                            hits = search(q, threads, **knobs)
                            ms.append((time.perf_counter() - start) * 1e3)
                            found.append([int(doc) for doc, _ in hits])
                        if len(found) < len(queries):
                            print(
                                engine,
                                threads,
                                knobs,
                                f"too slow: {statistics.median(ms):.0f} ms",
                                flush=True,
                            )
                            continue
                        record = {"system": engine, "threads": threads, **knobs, "build_s": round(build_s, 1),
                                  "p50_ms": statistics.median(ms), "p95_ms": float(np.percentile(ms, 95)),
                                  "top10": found}  # fmt: skip
                        out.write(json.dumps(record) + "\n")
                        out.flush()
                        print(engine, threads, knobs, f"p50 {record['p50_ms']:.2f} ms", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:] or list(GRIDS))
