"""Property tests: any sequence of add / delete / save+load on a PlaidIndex ranks exactly
like an index built from scratch on the surviving documents with the same centroids;
refused changes (unknown id, duplicate id) raise a clear error and change nothing."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lateint.plaid import IndexConfig, PlaidIndex
from lateint.vectors import TokenVectors, offsets_from_lengths

DIM, NLIST, POOL = 8, 4, 14  # a pool of 14 candidate documents per example


def random_corpus(seed: int) -> tuple[TokenVectors, list[str], torch.Tensor, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 7, (POOL,), generator=g)
    vectors = torch.nn.functional.normalize(torch.randn(int(lengths.sum()), DIM, generator=g), dim=1)
    corpus = TokenVectors(vectors, offsets_from_lengths(lengths), torch.zeros(len(vectors), dtype=torch.long))
    queries = torch.nn.functional.normalize(torch.randn(3, 4, DIM, generator=g), dim=-1)
    centroids = torch.nn.functional.normalize(torch.randn(NLIST, DIM, generator=g), dim=1).numpy()
    return corpus, [f"d{i}" for i in range(POOL)], queries, centroids


def ranking(index: PlaidIndex, q: torch.Tensor) -> tuple[list[str], np.ndarray]:
    hits = index.search(q, k=5, nprobe=2, ndocs=6)
    return [index.doc_ids[i] for i in hits.docs.tolist()], hits.scores.numpy()


def snapshot(index: PlaidIndex) -> tuple:
    return (list(index.doc_ids), index.offsets.copy(), index.token_cells.copy(), index.store.codes.copy())


def same(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and all(np.array_equal(x, y) for x, y in zip(a[1:], b[1:]))


operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "delete", "save_load", "add_duplicate", "delete_unknown"]),
        st.lists(st.integers(0, POOL - 1), min_size=1, max_size=4, unique=True),
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**16),
    compression=st.sampled_from(["fp32", "fp16", "binary"]),  # codes that do not depend on the corpus
    first=st.integers(1, POOL),
    ops=operations,
)
def test_any_sequence_of_changes_ranks_like_a_rebuild(tmp_path, seed, compression, first, ops):
    corpus, ids, queries, centroids = random_corpus(seed)
    config = IndexConfig(nlist=NLIST, compression=compression)
    index = PlaidIndex.build(corpus.select(range(first)), ids[:first], config, centroids=centroids)
    for op, picks in ops:
        present = set(index.doc_ids)
        before = snapshot(index)
        if op == "add":
            new = [i for i in picks if ids[i] not in present]
            index.add(corpus.select(new), [ids[i] for i in new])
        elif op == "delete":
            gone = [ids[i] for i in picks if ids[i] in present]
            if gone and len(gone) < len(present):
                index.delete(gone)
        elif op == "save_load":
            index.save(tmp_path / "i.lateint")
            index = PlaidIndex.load(tmp_path / "i.lateint")
            assert same(before, snapshot(index))
        elif op == "add_duplicate":
            taken = [i for i in picks if ids[i] in present]
            if taken:
                with pytest.raises(ValueError, match="already present"):
                    index.add(corpus.select(taken), [ids[i] for i in taken])
                assert same(before, snapshot(index))
        else:  # delete_unknown: one unknown id among known ones still changes nothing
            with pytest.raises(KeyError, match="not in the index"):
                index.delete([ids[i] for i in picks if ids[i] in present][:1] + ["no-such-doc"])
            assert same(before, snapshot(index))
    survivors = [ids.index(d) for d in index.doc_ids]
    rebuilt = PlaidIndex.build(corpus.select(survivors), index.doc_ids, config, centroids=centroids)
    assert same(snapshot(index), snapshot(rebuilt))
    for q in queries:
        (docs_a, scores_a), (docs_b, scores_b) = ranking(index, q), ranking(rebuilt, q)
        assert docs_a == docs_b
        np.testing.assert_allclose(scores_a, scores_b, rtol=1e-6)
