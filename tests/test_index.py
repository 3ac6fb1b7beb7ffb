import numpy as np
import pytest
import torch

from lateint.compress import decompress
from lateint.indexfile import IndexFileError
from lateint.maxsim import maxsim, search
from lateint.plaid import IndexConfig, PlaidIndex, default_nlist
from lateint.token_index import TokenIndex
from lateint.vectors import TokenVectors
from lateint.workspace import Workspace


def test_generous_lookups_return_the_exhaustive_top_k(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    index = TokenIndex(vectors)
    D, D_mask = vectors.padded()
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts)
    _, exhaustive = search(Q, D, D_mask, k=5, Q_mask=Q_mask)
    for row in range(len(builtin.query_texts)):
        scores, docs, hit = index.search(
            Q[row], k=5, k_tokens=len(vectors.vectors)
        )  # every token: every document
        assert len(hit.candidates) == vectors.n_docs
        assert docs.tolist() == exhaustive[row].tolist()


def test_lookup_counts_one_row_per_query_vector(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    index = TokenIndex(vectors)
    Q, Q_mask = colbert_style.encode_queries(["what causes ocean tides"])
    hit = index.lookup(Q[0][Q_mask[0]], k=3)
    assert hit.token_docs.shape == (12, 3)  # query_maxlen vectors, 3 hits each
    assert set(hit.candidates.tolist()) == set(hit.token_docs.ravel().tolist())


def test_ivf_index_with_all_cells_probed_is_exact(colbert_style, builtin):
    vectors = colbert_style.encode_corpus(builtin.doc_texts)
    flat, ivf = TokenIndex(vectors), TokenIndex(vectors, nlist=4, nprobe=4)
    q = colbert_style.encode_queries(["bread dough rising"])[0][0]
    assert flat.search(q, k=5, k_tokens=8)[1].tolist() == ivf.search(q, k=5, k_tokens=8)[1].tolist()


# -- PlaidIndex ------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(colbert_style, builtin):
    Q, Q_mask = colbert_style.encode_queries(builtin.query_texts)
    assert Q_mask.all()  # augmented queries: every row is a real query vector
    return colbert_style.encode_corpus(builtin.doc_texts), Q


def exhaustive_top(vectors, Q, k):
    D, D_mask = vectors.padded()
    return search(Q, D, D_mask, k=k)


@pytest.mark.parametrize("compression", ["fp32", "fp16"])
def test_generous_settings_return_the_exhaustive_top_10(corpus, builtin, compression):
    vectors, Q = corpus
    index = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=16, compression=compression))
    scores, top = exhaustive_top(vectors, Q, k=10)
    for row in range(len(Q)):
        hits = index.search(Q[row], k=10, nprobe=16, ndocs=None)  # every cell, every candidate exactly
        assert hits.n_candidates == vectors.n_docs
        if compression == "fp32":
            assert hits.docs.tolist() == top[row].tolist()
        torch.testing.assert_close(
            hits.scores, scores[row], atol=2e-3, rtol=0
        )  # fp16: rounding may swap near-ties


def test_pruning_scores_fewer_documents_exactly(corpus, builtin):
    vectors, Q = corpus
    index = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=16, compression="fp32"))
    D, D_mask = vectors.padded()
    for row in range(len(Q)):
        hits = index.search(Q[row], k=3, nprobe=16, ndocs=16)
        assert hits.n_scored == 4  # ndocs / 4 reach exact MaxSim
        exact = maxsim(Q[row : row + 1], D[hits.docs], D_mask[hits.docs])[0]
        torch.testing.assert_close(
            hits.scores, exact
        )  # what is returned is exact MaxSim, never the approximation
        roomy = index.search(Q[row], k=3, nprobe=16, ndocs=4 * vectors.n_docs)
        assert roomy.n_scored == vectors.n_docs


@pytest.mark.parametrize("bits", [1, 2, 4])
@pytest.mark.parametrize("setting", [{"nprobe": 16, "ndocs": None}, {"nprobe": 2, "ndocs": 8}])
def test_scoring_the_codes_equals_decoding_them(corpus, builtin, bits, setting):
    """The lookup table gives decode-then-MaxSim's scores, and so its ranking."""
    vectors, Q = corpus
    index = PlaidIndex.build(
        vectors, builtin.doc_ids, IndexConfig(nlist=16, compression="residual", bits=bits)
    )
    D, D_mask = TokenVectors(decompress(index.store), vectors.offsets, vectors.token_ids).padded()
    for row in range(len(Q)):
        codes = index.search(Q[row], k=5, scoring="codes", **setting)
        decoded = index.search(Q[row], k=5, scoring="decode", **setting)
        assert "tables" in codes.stage_ms and "decompress" in decoded.stage_ms
        torch.testing.assert_close(codes.scores, decoded.scores, atol=1e-5, rtol=0)
        assert codes.docs.tolist() == decoded.docs.tolist()
        exact = maxsim(Q[row : row + 1], D[codes.docs], D_mask[codes.docs])[0]
        torch.testing.assert_close(codes.scores, exact, atol=1e-5, rtol=0)  # over the decoded vectors


def test_scoring_codes_works_when_the_dimension_does_not_fill_whole_bytes():
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(
        torch.randn(600, 10, generator=g), dim=1
    )  # 10 dims: 2.5 bytes at 2 bits
    vectors = TokenVectors(x, torch.arange(0, 601, 20), torch.zeros(600, dtype=torch.long))
    index = PlaidIndex.build(
        vectors, [f"d{i}" for i in range(30)], IndexConfig(nlist=8, compression="residual")
    )
    q = torch.nn.functional.normalize(torch.randn(3, 10, generator=g), dim=1)
    codes = index.search(q, k=5, nprobe=8, ndocs=None, scoring="codes")
    decoded = index.search(q, k=5, nprobe=8, ndocs=None, scoring="decode")
    torch.testing.assert_close(codes.scores, decoded.scores, atol=1e-5, rtol=0)


def test_scoring_codes_needs_residual_codes(corpus, builtin):
    vectors, Q = corpus
    index = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=16, compression="fp16"))
    with pytest.raises(ValueError, match="residual codes only"):
        index.search(Q[0], scoring="codes")


def test_a_workspace_is_reused_across_queries(corpus, builtin):
    vectors, Q = corpus
    index = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=16, compression="residual"))
    ws = Workspace()
    first = index.search(Q[0], k=5, nprobe=2, ndocs=8, workspace=ws)
    size = ws.nbytes
    assert size > 0 and index.workspace.nbytes == 0  # the given one was used, not the index's own
    for row in range(len(Q)):
        index.search(Q[row], k=5, nprobe=2, ndocs=8, workspace=ws)
    again = index.search(Q[0], k=5, nprobe=2, ndocs=8, workspace=ws)
    assert again.docs.tolist() == first.docs.tolist()  # a reused buffer changes no result
    torch.testing.assert_close(again.scores, first.scores)


def test_compressed_index_is_smaller_per_token(corpus, builtin):
    vectors, _ = corpus
    sizes = {
        c: PlaidIndex.build(
            vectors, builtin.doc_ids, IndexConfig(nlist=16, compression=c, bits=2)
        ).bytes_per_token
        for c in ("fp32", "fp16", "residual", "binary")
    }
    dim = vectors.vectors.shape[1]  # 16
    assert sizes == {
        "fp32": 4 * dim + 2,
        "fp16": 2 * dim + 2,
        "residual": 2 + dim * 2 / 8,
        "binary": dim / 8 + 2,
    }


def test_default_nlist_grows_with_the_corpus():
    assert [default_nlist(n) for n in (1, 1000, 1_000_000)] == [4, 64, 2048]


def test_save_and_load_round_trip(corpus, builtin, tmp_path):
    vectors, Q = corpus
    index = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=8, compression="residual", bits=2))
    index.save(tmp_path / "i.lateint")
    loaded = PlaidIndex.load(tmp_path / "i.lateint")
    assert loaded.doc_ids == index.doc_ids and loaded.config == index.config
    for row in range(3):
        a, b = index.search(Q[row], k=5, ndocs=None), loaded.search(Q[row], k=5, ndocs=None)
        assert a.docs.tolist() == b.docs.tolist() and torch.equal(a.scores, b.scores)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[: len(raw) // 2], "truncated or corrupt"),
        (lambda raw: raw[:-1], "truncated or corrupt"),
        (lambda raw: raw[:5], "not a lateint index file"),
        (lambda raw: b"\x00" * 64, "not a lateint index file"),
        (lambda raw: b"PK\x03\x04 a zip file, not an index", "not a lateint index file"),
        (lambda raw: raw[:-10] + bytes(b ^ 0xFF for b in raw[-10:]), "does not match the checksum"),
    ],
)
def test_damaged_files_are_refused_with_a_clear_error(corpus, builtin, tmp_path, damage, message):
    vectors, _ = corpus
    path = tmp_path / "i.lateint"
    PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=8, compression="int8")).save(path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(IndexFileError, match=message):
        PlaidIndex.load(path)


def test_foreign_safetensors_and_other_versions_are_refused(tmp_path, corpus, builtin):
    from safetensors.numpy import save_file

    save_file({"weight": np.zeros((2, 2), np.float32)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(IndexFileError, match="not a lateint index"):
        PlaidIndex.load(tmp_path / "model.safetensors")
    for version, message in (
        ("9", "version '9'.*upgrade"),
        ("1", "version 1, from an older lateint.*rebuild"),
    ):
        path = tmp_path / f"v{version}.lateint"
        save_file(
            {"weight": np.zeros(1, np.float32)},
            str(path),
            metadata={"format": "lateint-index", "version": version},
        )
        with pytest.raises(IndexFileError, match=message):
            PlaidIndex.load(path)
    with pytest.raises(FileNotFoundError, match="no index file"):
        PlaidIndex.load(tmp_path / "missing.lateint")


@pytest.mark.parametrize("compression", ["fp16", "int8", "residual", "binary"])
def test_add_and_delete_match_an_index_built_on_the_result(corpus, builtin, compression):
    vectors, Q = corpus
    first, rest = list(range(20)), list(range(20, vectors.n_docs))
    full = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=8, compression=compression))
    grown = PlaidIndex.build(
        vectors.select(first),
        builtin.doc_ids[:20],
        IndexConfig(nlist=8, compression=compression),
        centroids=full.centroids,
    )
    grown.add(vectors.select(rest), builtin.doc_ids[20:])
    assert grown.doc_ids == full.doc_ids and grown.n_tokens == full.n_tokens
    if compression != "int8" and compression != "residual":  # these codebooks were fitted on other data
        assert np.array_equal(grown.store.codes, full.store.codes)
    np.testing.assert_array_equal(grown.token_cells, full.token_cells)
    gone = builtin.doc_ids[3:30:4]
    grown.delete(gone)
    kept = [i for i, d in enumerate(builtin.doc_ids) if d not in gone]
    rebuilt = PlaidIndex.build(
        vectors.select(kept),
        [builtin.doc_ids[i] for i in kept],
        IndexConfig(nlist=8, compression="fp32"),
        centroids=full.centroids,
    )
    for row in range(len(Q)):
        a, b = (
            grown.search(Q[row], k=3, nprobe=8, ndocs=None),
            rebuilt.search(Q[row], k=3, nprobe=8, ndocs=None),
        )
        if compression == "fp16":  # the other codes' codebooks were fitted on other documents
            assert [grown.doc_ids[i] for i in a.docs] == [rebuilt.doc_ids[i] for i in b.docs]
        assert not set(gone) & {grown.doc_ids[i] for i in a.docs}


def test_bad_changes_are_refused(corpus, builtin):
    vectors, Q = corpus
    index = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=8, compression="fp16"))
    with pytest.raises(ValueError, match="already present"):
        index.add(vectors.select([0]), [builtin.doc_ids[0]])
    with pytest.raises(KeyError, match="not in the index"):
        index.delete(["no-such-doc"])
    with pytest.raises(ValueError, match="every document"):
        index.delete(builtin.doc_ids)
    with pytest.raises(ValueError, match="query has no vectors"):
        index.search(torch.zeros(0, Q.shape[2]))
    with pytest.raises(ValueError, match="all zeros"):
        index.search(torch.zeros_like(Q[0]))  # padding rows are refused, not scored
    with pytest.raises(ValueError, match="shape"):
        index.search(Q)
    with pytest.raises(ValueError, match="empty corpus"):
        PlaidIndex.build(vectors.select([]), [])


def test_given_cells_build_the_same_index_as_assigning_them(corpus, builtin):
    vectors, Q = corpus
    residual = PlaidIndex.build(vectors, builtin.doc_ids, IndexConfig(nlist=8, compression="residual"))
    config = IndexConfig(nlist=8, compression="fp16")
    assigned = PlaidIndex.build(vectors, builtin.doc_ids, config, centroids=residual.centroids)
    given = PlaidIndex.build(
        vectors, builtin.doc_ids, config, centroids=residual.centroids, cells=residual.token_cells
    )
    np.testing.assert_array_equal(given.token_cells, assigned.token_cells)
    a, b = (ix.search(Q[0], k=5, nprobe=2, ndocs=None) for ix in (given, assigned))
    assert a.docs.tolist() == b.docs.tolist()
    for cells, centroids in [
        (residual.token_cells[:-1], residual.centroids),  # one cell short
        (residual.token_cells + 8, residual.centroids),  # past the last centroid
        (residual.token_cells, None),  # cells without the centroids they index
    ]:
        with pytest.raises(ValueError, match="cells must be"):
            PlaidIndex.build(vectors, builtin.doc_ids, config, centroids=centroids, cells=cells)
