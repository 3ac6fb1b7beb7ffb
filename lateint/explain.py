"""Which document token each query token matched: the explanation MaxSim gives for free.

``align`` encodes one query and one document and returns the token strings, the full
query-token by document-token similarity matrix and, per query token, the document
token it matched and how much that adds to the score. ``plots`` draws it.

Left out: attention maps and gradients; MaxSim's own argmax is the explanation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .encoder import Encoder
from .maxsim import token_matches


@dataclass
class Alignment:
    query_tokens: list[str]  # (query_len,)
    doc_tokens: list[str]  # (doc_len,) only the tokens that have vectors (skiplist applied)
    sim: torch.Tensor  # (query_len, doc_len) cosine similarities
    best_index: torch.Tensor  # (query_len,) matched document position per query token
    best_score: torch.Tensor  # (query_len,) its similarity: MaxSim's terms

    @property
    def score(self) -> float:
        """MaxSim of the pair: the sum of every query token's best match."""
        return float(self.best_score.sum())

    def doc_weights(self) -> torch.Tensor:
        """Per document token, the similarity it contributed (summed over the query
        tokens that matched it), shape (doc_len,)."""
        weights = torch.zeros(len(self.doc_tokens))
        weights.index_add_(0, self.best_index, self.best_score.clamp(min=0))
        return weights


def align(encoder: Encoder, query: str, doc: str) -> Alignment:
    """Encode one query and one document and align their tokens.

    >>> from lateint import load_encoder
    >>> enc = load_encoder("minilm-zeroshot")
    >>> a = align(enc, "tidal forces", "The Moon raises the tides.")
    >>> a.query_tokens[:3], a.doc_tokens[a.best_index[1]]
    (['[CLS]', 'tidal', 'forces'], 'tides')
    """
    q_tok = encoder.tokenize_queries([query])
    d_tok = encoder.tokenize_documents([doc])
    Q, Q_mask = encoder.encode_queries([query])
    q_keep = Q_mask[0]
    D, D_mask = encoder.encode_documents([doc])  # skiplisted tokens have no vector: rows are the kept tokens
    d = D[0][D_mask[0]]  # (n_kept, dim)
    sim, best_index, best_score = token_matches(Q[0][q_keep], d, torch.ones(len(d), dtype=torch.bool))
    query_tokens = [t for t, k in zip(encoder.tokens(q_tok["input_ids"][0]), q_keep.tolist()) if k]
    doc_tokens = [t for t, k in zip(encoder.tokens(d_tok["input_ids"][0]), d_tok["D_mask"][0].tolist()) if k]
    assert len(doc_tokens) == len(d), "document tokens and vectors out of step"
    return Alignment(query_tokens, doc_tokens, sim, best_index, best_score)
