"""Benchmarks: one JSON line per measurement, medians of several runs, ratios measured
side by side in one process. Run with `make bench`.

- exhaustive MaxSim throughput (document tokens per second) against a plain matmul of
  the same size (the BLAS bound on this CPU);
- encoding throughput (passages per second, backbone only, cache bypassed);
- exhaustive search latency per query on the built-in or a benchmark collection.
"""

from __future__ import annotations

import json
import statistics
import time
import warnings

import torch

from lateint import data
from lateint.compare import encode_collection
from lateint.encoder import Encoder
from lateint.maxsim import maxsim


def timed(fn, repeats: int = 5) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def emit(**record) -> None:
    print(json.dumps(record), flush=True)


def maxsim_vs_matmul(n_docs: int = 2000, doc_len: int = 128, q_len: int = 32, dim: int = 128) -> None:
    g = torch.Generator().manual_seed(0)
    Q = torch.nn.functional.normalize(torch.randn(1, q_len, dim, generator=g), dim=-1)
    D = torch.nn.functional.normalize(torch.randn(n_docs, doc_len, dim, generator=g), dim=-1)
    D_mask = torch.ones(n_docs, doc_len, dtype=torch.bool)
    flat = D.reshape(-1, dim)
    t_maxsim = timed(lambda: maxsim(Q, D, D_mask))
    t_matmul = timed(lambda: Q[0] @ flat.T)
    tokens = n_docs * doc_len
    emit(bench="maxsim_throughput", doc_tokens=tokens, dim=dim, query_vectors=q_len, threads=torch.get_num_threads(),
         maxsim_tokens_per_s=round(tokens / t_maxsim), matmul_tokens_per_s=round(tokens / t_matmul),
         ratio_of_matmul_bound=round(t_matmul / t_maxsim, 3))


def encoding(collection, encoder: Encoder, n: int = 64) -> None:
    texts = collection.doc_texts[:n]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds = timed(lambda: encoder._backbone_documents(texts, batch_size=32, progress=False), repeats=3)
    emit(bench="encoding", collection=collection.name, passages=len(texts), doc_maxlen=encoder.config.doc_maxlen,
         passages_per_s=round(len(texts) / seconds, 2))


def search_latency(collection, encoder: Encoder, n_queries: int = 20) -> None:
    vectors = encode_collection(encoder, collection)
    D, D_mask = vectors.padded()
    times = []
    for text in collection.query_texts[:n_queries]:
        start = time.perf_counter()
        maxsim(encoder.encode_queries([text]), D, D_mask)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    emit(bench="exhaustive_search", collection=collection.name, docs=vectors.n_docs, doc_tokens=len(vectors.vectors),
         p50_ms=round(statistics.median(times), 2), p95_ms=round(times[int(0.95 * (len(times) - 1))], 2),
         bytes_per_token=vectors.vectors.element_size() * vectors.vectors.shape[1])


def main() -> None:
    maxsim_vs_matmul()
    encoder = Encoder.from_pretrained("lateint-minilm")
    (collection,), _ = data.load_available(["scifact"])
    encoding(collection, encoder)
    search_latency(collection, encoder)


if __name__ == "__main__":
    main()
