"""Property test for Qdrant's engine in-process: any sequence of upserts, deletes and
reloads on an Edge shard leaves it ranking exactly like exhaustive MaxSim (lateint)
over the documents that should survive. Qdrant's rules differ from PlaidIndex's and are
asserted as such: upserting an existing id replaces that point, deleting an unknown id
changes nothing."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lateint import qdrant
from lateint.maxsim import maxsim_packed
from lateint.vectors import TokenVectors, offsets_from_lengths

qdrant_edge = pytest.importorskip("qdrant_edge")

DIM, POOL = 8, 12  # documents 0..11, each in two versions (the second for replacing upserts)


def versions(seed: int) -> tuple[list[TokenVectors], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(2):
        lengths = torch.randint(1, 6, (POOL,), generator=g)
        x = torch.nn.functional.normalize(torch.randn(int(lengths.sum()), DIM, generator=g), dim=1)
        out.append(TokenVectors(x, offsets_from_lengths(lengths), torch.zeros(len(x), dtype=torch.long)))
    queries = torch.nn.functional.normalize(torch.randn(3, 4, DIM, generator=g), dim=-1)
    return out, queries


def expected(
    live: dict[int, int], docs: list[TokenVectors], q: torch.Tensor, k: int
) -> tuple[list, np.ndarray]:
    """lateint's exact top-k over ``live`` (point id -> which version it holds)."""
    ids = sorted(live)
    if not ids:
        return [], np.zeros(0, dtype=np.float32)
    parts = [docs[live[i]].doc(i) for i in ids]
    offsets = offsets_from_lengths(torch.tensor([len(p) for p in parts]))
    scores = maxsim_packed(q, torch.cat(parts), offsets)
    order = torch.argsort(-scores, stable=True)[:k]
    return [ids[int(j)] for j in order], scores[order].numpy()


operations = st.lists(
    st.tuples(
        st.sampled_from(["upsert", "upsert_new_version", "delete", "delete_unknown", "reload"]),
        st.lists(st.integers(0, POOL - 1), min_size=1, max_size=4, unique=True),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), first=st.integers(1, POOL), ops=operations)
def test_any_sequence_of_changes_ranks_like_exact_maxsim_over_the_survivors(
    tmp_path_factory, seed, first, ops
):
    docs, queries = versions(seed)
    path = tmp_path_factory.mktemp("shard") / "shard"
    shard = qdrant.create_shard(path, DIM)
    live = {i: 0 for i in range(first)}
    qdrant.upload(shard, "", docs[0].select(range(first)), [f"d{i}" for i in range(first)])
    for op, picks in ops:
        if op in ("upsert", "upsert_new_version"):
            version = int(op == "upsert_new_version")
            qdrant.upload(shard, "", docs[version].select(picks), [f"d{i}" for i in picks], point_ids=picks)
            live.update({i: version for i in picks})
        elif op == "delete":
            qdrant.delete(shard, "", picks)
            for i in picks:
                live.pop(i, None)
        elif op == "delete_unknown":
            qdrant.delete(shard, "", [POOL + p for p in picks])  # never uploaded: nothing changes
        else:
            shard.flush()
            shard.close()
            shard = qdrant_edge.EdgeShard.load(str(path))
    for q in queries:
        want_docs, want_scores = expected(live, docs, q, k=5)
        got_scores, got_docs = qdrant.search(shard, "", q, k=5, exact=True)
        assert got_docs.tolist() == want_docs  # random vectors: no ties
        np.testing.assert_allclose(got_scores, want_scores, atol=1e-5)
    shard.close()
