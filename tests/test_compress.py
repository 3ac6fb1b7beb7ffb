import numpy as np
import pytest
import torch

from lateint.compress import (
    LLOYD_ITERATIONS,
    Compressed,
    _buckets,
    _headers,
    compress,
    decompress,
    fit_buckets,
    hamming_maxsim,
    hamming_scores,
    kmeans,
    nearest_centroid,
)

N, DIM = 2000, 32


def unit_vectors(n=N, dim=DIM, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, dim, generator=g), dim=1)


@pytest.fixture(scope="module")
def x():
    return unit_vectors()


@pytest.fixture(scope="module")
def residual(x):
    """Residual compression at each bit width, computed once."""
    return {bits: compress(x, "residual", k=16, bits=bits, niter=10, seed=0) for bits in (1, 2, 4)}


def mean_cosine_error(x, y):
    return float(1 - (x * y).sum(dim=1).mean())


def test_fp16_round_trip(x):
    c = compress(x, "fp16")
    y = decompress(c)
    assert y.dtype == torch.float32 and y.shape == x.shape
    assert float((y - x).abs().max()) < 1e-3
    assert c.nbytes == 2 * N * DIM and c.bytes_per_vector == 2 * DIM


def test_int8_error_is_at_most_half_a_step(x):
    c = compress(x, "int8")
    y = decompress(c)
    assert c.codes.dtype == np.int8 and y.shape == x.shape
    scale = torch.from_numpy(c.scale)  # (dim,)
    torch.testing.assert_close(scale, x.abs().amax(dim=0) / 127)
    assert bool(((y - x).abs() <= scale / 2 + 1e-6).all())
    assert (np.abs(c.codes).max(axis=0) == 127).all()  # each dimension's largest value uses the full range
    assert c.nbytes == N * DIM and c.bytes_per_vector == DIM  # the scales are shared, not counted


def test_int8_all_zero_dimension_decodes_to_zero():
    x = unit_vectors(50, 8)
    x[:, 3] = 0
    y = decompress(compress(x, "int8"))
    assert bool((y[:, 3] == 0).all())
    assert not bool(torch.isnan(y).any())


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_residual_bytes(residual, bits):
    c = residual[bits]
    assert c.headers.dtype == np.uint16  # k <= 4096: a 2-byte centroid id with its norm code
    assert c.codes.shape == (N, DIM * bits // 8) and c.codes.dtype == np.uint8
    assert c.bytes_per_vector == 2 + DIM * bits / 8
    assert c.nbytes == N * (2 + DIM * bits // 8)


@pytest.mark.parametrize("k", [16, 4096, 4097, 100_000])
def test_headers_hold_the_centroid_id_and_the_norm_code(k):
    ids = np.array([0, k - 1, k // 2, 1])
    norm_codes = np.array([15, 0, 7, 1])
    headers = _headers(ids, norm_codes, k)
    assert headers.dtype == (np.uint16 if k <= 4096 else np.uint32)
    c = Compressed("residual", 2, np.zeros((4, 1), np.uint8), bits=2, headers=headers)
    c.norm_values = np.arange(16, dtype=np.float32)[:, None]  # scale j decodes code j
    got_ids, scales = c.read_headers()
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(scales, norm_codes)
    np.testing.assert_array_equal(c.read_headers(np.array([2]))[0], ids[2:3])


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_residual_packed_codes_are_the_bucket_indices(x, residual, bits):
    """Unpack by hand and compare with the buckets recomputed from the codebooks."""
    c = residual[bits]
    residuals = x.numpy() - c.centroids[c.centroid_ids]
    expected = (residuals[None] >= c.cutoffs[:, None, :]).sum(axis=0)  # (n, dim)
    planes = np.unpackbits(c.codes, axis=1).reshape(N, DIM, bits)
    unpacked = (planes * (1 << np.arange(bits - 1, -1, -1))).sum(axis=2)
    np.testing.assert_array_equal(unpacked, expected)


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_fitted_buckets_lower_the_error_of_equally_full_ones(x, residual, bits):
    """Lloyd-Max: each round lowers the squared error; round 0 is the quantile start."""
    c = residual[bits]
    residuals = x.numpy() - c.centroids[c.centroid_ids]

    def squared_error(iterations):
        cutoffs, values = fit_buckets(residuals, bits, iterations=iterations)
        decoded = values[_buckets(residuals, cutoffs), np.arange(DIM)]
        return float(((residuals - decoded) ** 2).sum())

    start = fit_buckets(residuals, bits, iterations=0)[0]
    np.testing.assert_allclose(
        start, np.quantile(residuals, np.arange(1, 2**bits) / 2**bits, axis=0), rtol=1e-5
    )
    errors = [squared_error(i) for i in (0, 1, 4, LLOYD_ITERATIONS)]
    assert all(a >= b * (1 - 1e-6) for a, b in zip(errors, errors[1:]))
    if bits > 1:  # one cutoff of a symmetric distribution already sits at its optimum
        assert errors[-1] < 0.97 * errors[0]


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_residual_bucket_values_are_bucket_means(x, residual, bits):
    c = residual[bits]
    residuals = x.numpy() - c.centroids[c.centroid_ids]
    codes = (residuals[None] >= c.cutoffs[:, None, :]).sum(axis=0)
    for j in (0, 2**bits - 1):
        for d in (0, DIM - 1):
            np.testing.assert_allclose(
                c.bucket_values[j, d], residuals[codes[:, d] == j, d].mean(), rtol=1e-5, atol=1e-6
            )
    lower = np.vstack([np.full((1, DIM), -np.inf), c.cutoffs])
    upper = np.vstack([c.cutoffs, np.full((1, DIM), np.inf)])
    assert ((lower <= c.bucket_values) & (c.bucket_values < upper)).all()  # each mean lies inside its bucket


def test_residual_decodes_unit_vectors_and_more_bits_are_closer(x, residual):
    decoded = {bits: decompress(c) for bits, c in residual.items()}
    for y in decoded.values():
        assert y.shape == x.shape and y.dtype == torch.float32
        off = (y.norm(dim=1) - 1).abs()  # 16 levels of length: fine in the middle, coarse in the tails
        assert float(off.median()) < 0.01 and float(off.quantile(0.95)) < 0.03
    errors = [mean_cosine_error(x, decoded[bits]) for bits in (1, 2, 4)]
    assert errors[2] < errors[1] < errors[0]
    assert errors[2] < 0.05


def test_residual_decoding_formula(x, residual):
    c = residual[2]
    planes = np.unpackbits(c.codes, axis=1).reshape(N, DIM, 2)
    codes = planes[:, :, 0] * 2 + planes[:, :, 1]
    raw = c.centroids[c.centroid_ids] + c.bucket_values[codes, np.arange(DIM)]
    ids, scales = c.read_headers()
    torch.testing.assert_close(decompress(c), torch.from_numpy(raw * scales[:, None]))
    # the scale is the level of the bucket 1 / length falls in (levels and cutoffs fitted as the residual's)
    inverse = 1 / np.linalg.norm(raw, axis=1).astype(np.float32)
    level = (inverse[:, None] >= c.norm_cutoffs[:, 0]).sum(axis=1)
    np.testing.assert_array_equal(scales, c.norm_values[level, 0])


def test_residual_is_deterministic_given_a_seed(x, residual):
    again = compress(x, "residual", k=16, bits=2, niter=10, seed=0)
    np.testing.assert_array_equal(again.codes, residual[2].codes)
    np.testing.assert_array_equal(again.centroid_ids, residual[2].centroid_ids)
    np.testing.assert_array_equal(again.centroids, residual[2].centroids)


@pytest.mark.parametrize("dim", [DIM, 12])
def test_binary_keeps_signs(dim):
    x = unit_vectors(dim=dim)
    c = compress(x, "binary")
    y = decompress(c)
    assert y.shape == x.shape
    assert bool((torch.sign(y) == torch.sign(x)).all())
    torch.testing.assert_close(y.abs(), torch.full_like(y, dim**-0.5))
    assert c.codes.shape == (N, -(-dim // 8))  # dim bits, rounded up to whole bytes
    assert c.bytes_per_vector == -(-dim // 8)
    if dim == DIM:
        assert c.bytes_per_vector == DIM / 8


def loop_equal_bits(q_bits, d_bits):
    """Equal bits counted one pair and one bit at a time."""
    out = np.zeros((len(q_bits), len(d_bits)), dtype=np.int64)
    for a in range(len(q_bits)):
        for b in range(len(d_bits)):
            out[a, b] = sum(int(q_bits[a, i] == d_bits[b, i]) for i in range(q_bits.shape[1]))
    return out


def test_hamming_scores_match_a_loop():
    rng = np.random.default_rng(0)
    dim = 20  # not a multiple of 8: 4 padding bits
    q_bits, d_bits = rng.integers(0, 2, (3, dim)), rng.integers(0, 2, (5, dim))
    q, d = np.packbits(q_bits, axis=1), np.packbits(d_bits, axis=1)
    expected = loop_equal_bits(q_bits, d_bits)
    np.testing.assert_array_equal(hamming_scores(q, d, dim=dim), expected)
    np.testing.assert_array_equal(hamming_scores(q, d), expected + 4)  # padding bits agree


def test_hamming_scores_give_dot_products_of_decoded_binary_vectors():
    q, d = compress(unit_vectors(4, DIM, seed=1), "binary"), compress(unit_vectors(30, DIM, seed=2), "binary")
    equal = torch.from_numpy(hamming_scores(q.codes, d.codes)).float()
    torch.testing.assert_close((2 * equal - DIM) / DIM, decompress(q) @ decompress(d).T)


def test_hamming_maxsim_is_maxsim_over_decoded_signs():
    from lateint.maxsim import maxsim_packed

    q = compress(unit_vectors(5, DIM, seed=3), "binary")
    docs = compress(unit_vectors(60, DIM, seed=4), "binary")
    offsets = np.array([0, 7, 8, 30, 31, 60])  # five documents of different lengths
    bits = hamming_maxsim(q.codes, docs.codes, offsets)
    decoded = maxsim_packed(decompress(q), decompress(docs), torch.from_numpy(offsets))
    # each query row adds (2 * equal - dim) / dim: the same ranking, the same scores after rescaling
    torch.testing.assert_close(torch.from_numpy((2 * bits - len(q.codes) * DIM) / DIM).float(), decoded)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: compress(x, "pq"), "unknown compression method 'pq'"),
        (lambda x: compress(x, "residual", k=4, bits=3), "bits must be 1, 2 or 4"),
        (lambda x: compress(x, "residual", k=N + 1), "k=2001 centroids"),
        (lambda x: compress(x[:0], "int8"), "nothing to compress"),
        (lambda x: compress(x[0], "fp16"), "must be 2-d"),
        (
            lambda x: decompress(Compressed("pq", DIM, np.zeros((1, 1), np.uint8))),
            "unknown compression method",
        ),
        (lambda x: hamming_scores(np.zeros((1, 4), np.uint8), np.zeros((1, 3), np.uint8)), "4 and 3 bytes"),
        (lambda x: hamming_scores(np.zeros((1, 4), np.int64), np.zeros((1, 4), np.uint8)), "uint8"),
    ],
)
def test_bad_input_raises(x, call, message):
    with pytest.raises(ValueError, match=message):
        call(x)


def test_options_for_a_method_without_options_raise(x):
    with pytest.raises(TypeError, match="takes no options"):
        compress(x, "int8", bits=4)


@pytest.mark.parametrize("method", ["fp32", "fp16", "int8", "residual", "binary"])
def test_encode_take_concat_reuse_one_codebook(x, method):
    kw = {"k": 8, "bits": 2} if method == "residual" else {}
    whole = compress(x, method, **kw)
    head, tail = whole.take(np.arange(50)), whole.encode(x[50:])
    joined = head.concat(tail)
    np.testing.assert_array_equal(
        joined.codes, whole.codes
    )  # the same codebook codes the same vectors the same way
    torch.testing.assert_close(decompress(joined), decompress(whole))
    rows = np.array([3, 77, 10])
    torch.testing.assert_close(decompress(whole, rows), decompress(whole)[rows])
    with pytest.raises(ValueError, match="dim"):
        whole.encode(x[:, :4])


def test_residual_with_given_centroids_skips_kmeans(x):
    centroids = torch.nn.functional.normalize(x[:5], dim=1).numpy()
    c = compress(x, "residual", centroids=centroids, bits=4)
    np.testing.assert_array_equal(c.centroids, centroids)
    assert (torch.nn.functional.cosine_similarity(decompress(c), x) > 0.9).all()


def test_residual_with_given_assignment_codes_the_same(x):
    centroids = torch.nn.functional.normalize(x[:5], dim=1).numpy()
    ids = nearest_centroid(x.numpy(), centroids)
    for bits in (1, 2, 4):
        fresh = compress(x, "residual", centroids=centroids, bits=bits)
        given = compress(x, "residual", centroids=centroids, bits=bits, centroid_ids=ids)
        np.testing.assert_array_equal(given.codes, fresh.codes)
        np.testing.assert_array_equal(given.centroid_ids, fresh.centroid_ids)
    other = (ids + 1) % 5  # the given assignment is used, not recomputed
    np.testing.assert_array_equal(
        compress(x, "residual", centroids=centroids, centroid_ids=other).centroid_ids, other
    )
    with pytest.raises(ValueError, match="centroid_ids"):
        compress(x, "residual", centroids=centroids, centroid_ids=ids[:-1])
    with pytest.raises(ValueError, match="centroid_ids"):
        compress(x, "residual", centroids=centroids, centroid_ids=ids + 5)


def test_kmeans_converges_to_the_means_of_its_clusters():
    g = torch.Generator().manual_seed(1)
    centres = torch.nn.functional.normalize(torch.randn(8, 32, generator=g), dim=1)
    points = torch.nn.functional.normalize(
        centres[torch.arange(800) % 8] + 0.05 * torch.randn(800, 32, generator=g), dim=1
    ).numpy()
    found = kmeans(points, 8, niter=20)
    assert np.allclose(np.linalg.norm(found, axis=1), 1, atol=1e-5)
    ids = nearest_centroid(points, found)
    for c in range(8):  # a fixed point: each centroid is its members' normalized mean
        mean = points[ids == c].sum(axis=0)
        assert np.allclose(found[c], mean / np.linalg.norm(mean), atol=1e-4)
    start = points[::100]  # 8 points from 2 of the clusters fit worse
    assert (points @ found.T).max(1).mean() > (points @ start.T).max(1).mean()
    assert np.array_equal(found, kmeans(points, 8, niter=20))  # seeded
    assert not np.array_equal(found, kmeans(points, 8, niter=20, seed=1))
    with pytest.raises(ValueError, match="k=801"):
        kmeans(points, 801)
    with pytest.warns(UserWarning, match="fewer than 39 points per centroid"):
        kmeans(points, 100)


def test_kmeans_trains_on_a_sample_and_restarts_empty_centroids():
    points = unit_vectors(400, 8).numpy()
    # a sample of 4 * 10 rows: every centroid is a normalized mean of sampled rows
    found = kmeans(points, 4, niter=5, max_points_per_centroid=10)
    assert found.shape == (4, 8) and np.allclose(np.linalg.norm(found, axis=1), 1, atol=1e-5)
    twice = np.repeat(points[:50], 2, axis=0)  # 50 distinct rows, each twice
    with pytest.warns(UserWarning):
        found = kmeans(twice, 50, niter=10)
    assert len(np.unique(nearest_centroid(twice, found))) == 50  # no centroid ends empty


def test_nearest_centroid_in_blocks_and_on_no_rows(x):
    centroids = x[:7].numpy()
    assert np.array_equal(
        nearest_centroid(x.numpy(), centroids, block_rows=3), nearest_centroid(x.numpy(), centroids)
    )
    assert nearest_centroid(x.numpy()[:0], centroids).shape == (0,)


def test_nearest_centroid_is_the_argmax_of_inner_products(x):
    centroids = x[:7].numpy()
    assert np.array_equal(nearest_centroid(x.numpy(), centroids), (x.numpy() @ centroids.T).argmax(1))
