"""lateint: late-interaction retrieval (ColBERT, MaxSim), small enough to read.

Modules in reading order; data flows down the list:

- ``data``: BEIR-layout collections (corpus, queries, judgments), and a built-in one.
- ``fetch``: SciFact and Cranfield downloaded into that layout (``python -m lateint.fetch``).
- ``cache``: arrays on disk, keyed by what computed them, so a corpus is encoded once.
- ``vectors``: ``TokenVectors`` (a corpus's token vectors back to back) and ragged-array helpers.
- ``encoder``: text -> one L2-normalized vector per token (markers, [MASK] padding, skiplist).
- ``checkpoints``: ``load_encoder``: the shipped head, zero-shot MiniLM, colbert-ai and PyLate folders.
- ``maxsim``: exact MaxSim scores and exhaustive top-k: the reference every fast path meets.
- ``compress``: fp16, int8, ColBERTv2 residual codes, sign bits (and Hamming MaxSim over them).
- ``pooling``: fewer vectors per document by merging similar ones (Ward clustering).
- ``token_index``: ``TokenIndex``, ColBERT's original search (per-token faiss lookups).
- ``plaid``: ``PlaidIndex``, PLAID's stages over residual codes, scored without decoding.
- ``workspace``: buffers a search reuses from one query to the next.
- ``indexfile``: named arrays in a versioned, checksummed safetensors file.
- ``baselines``: BM25 (rank-bm25, bm25s) and one mean-pooled dense vector (faiss).
- ``metrics``: nDCG@10, Recall@100, MRR@10 by ir-measures (trec_eval's code).
- ``timing``: median and p95 of single calls after warm-up calls, one helper everywhere.
- ``evaluate``: one method over one collection, measured and cached (``lateint evaluate``).
- ``qdrant``: the same token vectors served by Qdrant's multivector MAX_SIM.
- ``explain``: which document token each query token matched.
- ``train``: the late-interaction head over a frozen MiniLM (``python -m lateint.train``).
- ``export``: an encoder as ONNX, with int8 weights, for runtimes without torch (a browser).
- ``cli``: ``python -m lateint evaluate PATH``.

Pages instead of text (ColPali's idea, chapter 6):

- ``pages``: documents drawn as page images with a real font, cut into patches.
- ``patch_encoder``: a small CNN, page pixels -> one vector per patch in the text head's space.
- ``train_patches``: its distillation from the text head (``python -m lateint.train_patches``).
- ``colpali``: real ColPali-family models (optional ``colpali-engine``) into the same vectors.

The book's own measurements (comparisons, sweeps, figures) live in ``lateint.experiments``,
which imports this library and is never imported by it.

Names and shapes, the same everywhere:

- ``Q``: query token vectors, (n_queries, query_len, dim); ``Q_mask``, bool (n_queries,
  query_len), says which rows are real (padded rows are zero and never score).
- ``q``: one query's real vectors, (query_len, dim); ``vectors.unpad(Q, Q_mask)`` gives them.
- ``D``: document token vectors, (n_docs, doc_len, dim), padded; ``D_mask``, bool, the
  same first two dimensions. Padded positions are set to -inf before MaxSim's max.
- ``TokenVectors``: the unpadded corpus, ``vectors`` (n_tokens, dim) with ``offsets``
  (n_docs + 1,); ``.padded()`` gives ``D, D_mask``.
- ``dim``: 128 after the shipped head's projection (384 for zero-shot MiniLM).
"""

from .checkpoints import load_encoder
from .data import Collection, DataError, load
from .encoder import Encoder, EncoderConfig
from .vectors import TokenVectors

__all__ = ["Collection", "DataError", "Encoder", "EncoderConfig", "TokenVectors", "load", "load_encoder"]
__version__ = "0.1.0"
