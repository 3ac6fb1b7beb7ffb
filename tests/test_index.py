import torch

from lateint.index import TokenIndex
from lateint.maxsim import search


def test_generous_lookups_return_the_exhaustive_top_k(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    index = TokenIndex(vectors)
    D, D_mask = vectors.padded()
    Q = colbert_style.encode_queries(builtin.query_texts)
    _, exhaustive = search(Q, D, D_mask, k=5)
    for row in range(len(builtin.query_texts)):
        scores, docs, hit = index.search(Q[row], k=5, k_tokens=len(vectors.vectors))  # every token: every document
        assert len(hit.candidates) == vectors.n_docs
        assert docs.tolist() == exhaustive[row].tolist()


def test_lookup_counts_one_row_per_query_vector(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    index = TokenIndex(vectors)
    Q = colbert_style.encode_queries(["what causes ocean tides"])[0]
    hit = index.lookup(Q, k=3)
    assert hit.token_docs.shape == (12, 3)  # query_maxlen vectors, 3 hits each
    assert set(hit.candidates.tolist()) == set(hit.token_docs.ravel().tolist())


def test_ivf_index_with_all_cells_probed_is_exact(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    flat, ivf = TokenIndex(vectors), TokenIndex(vectors, nlist=4, nprobe=4)
    Q = colbert_style.encode_queries(["bread dough rising"])[0]
    assert flat.search(Q, k=5, k_tokens=8)[1].tolist() == ivf.search(Q, k=5, k_tokens=8)[1].tolist()
