"""Pages as images, the patch encoder, its distillation targets, and the ColPali path."""

import json
import re

import numpy as np
import pytest
import torch

from lateint import colpali, data, maxsim, pages
from lateint.experiments import vision
from lateint.patch_encoder import (
    SHIPPED,
    PatchEncoder,
    PatchEncoderConfig,
    encode_pages,
    load_patch_encoder,
    save,
)
from lateint.train_patches import PatchTrainConfig, distillation_targets, evaluate_card, fit, page_texts
from lateint.vectors import TokenVectors, offsets_from_lengths

TEXT = "Late interaction keeps one vector per token and scores documents by MaxSim over them."


def test_render_is_deterministic_and_places_every_character():
    a, b = pages.render(TEXT), pages.render(TEXT)
    assert np.array_equal(a.image, b.image)
    drawn = [i for i, c in enumerate(TEXT) if not c.isspace()]
    assert (a.char_patch[drawn] >= 0).all()
    assert (a.char_patch[[i for i, c in enumerate(TEXT) if c.isspace()]] == -1).all()
    # reading order: patches never go backwards
    assert (np.diff(a.char_patch[drawn]) >= 0).all()


def test_render_wraps_long_text_and_counts_what_it_cuts():
    config = pages.PageConfig(max_rows=3)
    page = pages.render(" ".join(["retrieval"] * 200), config)
    assert page.image.shape == (3 * config.patch, config.width)
    assert page.cut_chars > 0
    # a word longer than a line is split, not lost
    page = pages.render("x" * 300, pages.PageConfig())
    assert (page.char_patch >= 0).all() and page.image.shape[0] > pages.PageConfig().patch


def test_any_whitespace_draws_as_one_space():
    # newlines and runs of spaces in abstracts once drew a second line over the next one
    messy, clean = (
        pages.render("late  interaction\nworks\t \n well"),
        pages.render("late interaction works well"),
    )
    assert np.array_equal(messy.image, clean.image)


def test_render_refuses_an_empty_document():
    with pytest.raises(ValueError, match="empty"):
        pages.render("   ")


def test_inked_patches_are_where_the_characters_are():
    page = pages.render("MaxSim")
    ink = pages.inked(page)
    holding = set(page.char_patch[page.char_patch >= 0].tolist())
    assert holding <= set(np.flatnonzero(ink).tolist())
    assert ink.sum() <= len(holding) + 2  # glyph edges may spill into one neighbouring patch


def test_coverage_counts_each_character_once():
    page = pages.render(TEXT)
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", TEXT)]
    counts = pages.patch_coverage(page, spans)
    assert counts.sum(axis=0).tolist() == [float(e - s) for s, e in spans]


@pytest.fixture(scope="module")
def builtin():
    return data.load("builtin")


@pytest.fixture(scope="module")
def encoder(shipped):
    return shipped


def test_page_texts_stop_where_the_text_encoder_stops(encoder):
    long = "interaction " * 400
    texts, spans = page_texts(encoder, [long, TEXT])
    assert len(spans[0]) == encoder.config.doc_maxlen - 2  # [CLS] and [SEP] take two places
    assert texts[0] == long[: spans[0][-1][1]] and texts[1] == TEXT


def test_targets_are_unit_vectors_of_the_covered_pieces(encoder, builtin):
    config = PatchEncoderConfig().page
    drawn, targets = distillation_targets(encoder, builtin, [0, 1], config)
    norms = targets.vectors.norm(dim=-1)[targets.weight]
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-4)
    assert (targets.vectors[~targets.weight] == 0).all()
    assert len(targets.strips) == sum(p.image.shape[0] // config.patch for p in drawn)
    # a patch holding a single whole-word piece points exactly at that piece's vector
    text_vectors = encoder.encode_corpus(builtin.doc_texts, corpus_key=builtin.fingerprint()).doc(0)
    best = (targets.vectors[targets.weight] @ text_vectors.T).amax(dim=1)
    assert float(best.max()) > 0.999


def test_encode_pages_gives_a_unit_vector_per_inked_patch():
    model = PatchEncoder(PatchEncoderConfig(channels=16, context_layers=1))
    drawn = pages.render_all([TEXT, "MaxSim"])
    v = encode_pages(model, drawn)
    assert v.n_docs == 2
    assert v.lengths.tolist() == [int(pages.inked(p).sum()) for p in drawn]
    assert torch.allclose(v.vectors.norm(dim=1), torch.ones(len(v.vectors)), atol=1e-5)
    assert v.token_ids.tolist()[: v.lengths[0]] == np.flatnonzero(pages.inked(drawn[0])).tolist()


def test_training_moves_patches_towards_their_targets_and_round_trips(encoder, builtin, tmp_path):
    torch.manual_seed(0)
    model = PatchEncoder(PatchEncoderConfig(channels=32, context_layers=1))
    _, train = distillation_targets(encoder, builtin, list(range(8)), model.config.page)
    history = fit(model, train, train, PatchTrainConfig(epochs=3, batch_lines=8, lr=3e-3))
    assert history[-1]["dev_cosine"] > history[0]["dev_cosine"] + 0.05
    save(model, tmp_path, {"test": True})
    again = load_patch_encoder(tmp_path)
    rounded = PatchEncoder(model.config)  # weights are stored in float16: exactly these
    rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    x = train.strips[:4]
    with torch.inference_mode():
        assert torch.equal(rounded.eval()(x), again(x))


def test_the_card_evaluation_ranks_pages_by_patches(tmp_path):
    """``evaluate_card`` writes retrieval by patches into a card; the shipped card holds it."""
    shipped = json.loads((SHIPPED / "card.json").read_text())["evaluation"]
    assert set(shipped["test"]) == {"scifact", "cranfield"}
    assert 0.3 < shipped["test"]["scifact"]["nDCG@10"] < 0.75  # below text MaxSim, far above chance
    model = load_patch_encoder()
    save(model, tmp_path, {"model": "copy"})
    written = evaluate_card(tmp_path, names=(str(data.BUILTIN_PATH),))
    result = written["test"][str(data.BUILTIN_PATH)]
    assert result["queries"] == len(data.load("builtin").query_ids)
    assert 0.4 < result["nDCG@10"] <= 1.0  # 36 pages: chance is about 0.1
    assert json.loads((tmp_path / "card.json").read_text())["evaluation"] == written


def test_missing_patch_encoder_says_how_to_train_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_patches"):
        load_patch_encoder(tmp_path)


def test_grid_pooling_means_neighbours_and_keeps_pages_apart():
    v = torch.nn.functional.normalize(torch.randn(5, 4, generator=torch.Generator().manual_seed(0)), dim=1)
    # page 0: patches at grid 0, 1, 2 (one row); page 1: grid 0 and 4 (two rows of 4)
    tv = TokenVectors(v, torch.tensor([0, 3, 5]), torch.tensor([0, 1, 2, 0, 4]))
    pooled = vision.grid_pool(tv, columns=4, rows_per_cell=1, columns_per_cell=2)
    assert pooled.lengths.tolist() == [2, 2]
    expected = torch.nn.functional.normalize(v[0] + v[1], dim=0)
    assert torch.allclose(pooled.vectors[0], expected, atol=1e-6)
    assert vision.line_pool(tv, columns=4, by="row").lengths.tolist() == [1, 2]  # page 1 has two rows
    by_column = vision.line_pool(tv, columns=4, by="column")
    assert by_column.lengths.tolist() == [3, 1]  # page 0: three columns; page 1: one
    assert torch.allclose(by_column.vectors[3], torch.nn.functional.normalize(v[3] + v[4], dim=0), atol=1e-6)


def test_two_stage_with_every_page_as_candidate_equals_exhaustive(builtin):
    g = torch.Generator().manual_seed(1)
    lengths = torch.randint(3, 9, (len(builtin.doc_ids),), generator=g)
    grid = torch.cat([torch.randperm(16, generator=g)[:n].sort().values for n in lengths.tolist()])
    v = torch.nn.functional.normalize(torch.randn(int(lengths.sum()), 8, generator=g), dim=1)
    tv = TokenVectors(v, offsets_from_lengths(lengths), grid)
    Q = torch.nn.functional.normalize(torch.randn(len(builtin.query_ids), 3, 8, generator=g), dim=-1)
    Q_mask = torch.ones(Q.shape[:2], dtype=torch.bool)
    exact = vision.rank(Q, Q_mask, tv, builtin, k=5)
    rows = vision.line_pool(tv, columns=4)
    both = vision.two_stage(Q, Q_mask, rows, tv, builtin, candidates=len(builtin.doc_ids), k=5)
    for q in exact["run"]:
        assert list(exact["run"][q]) == list(both["run"][q])


def test_similarity_map_puts_scores_on_the_grid_and_leaves_blanks_empty():
    page = TokenVectors(torch.eye(3), torch.tensor([0, 3]), torch.tensor([0, 2, 5]))
    m = vision.similarity_map(torch.eye(3)[:2], page, rows=2, columns=3)
    assert m.shape == (2, 2, 3)
    assert m[0, 0, 0] == 1 and m[1, 0, 2] == 1 and m[0, 0, 2] == 0
    assert np.isnan(m[0, 0, 1]) and np.isnan(m[0, 1, 0])


def test_shipped_patch_encoder_loads_and_is_small():
    model = load_patch_encoder()
    n = sum(p.numel() for p in model.parameters())
    assert 1e5 <= n <= 5e6


def test_colpali_names_map_to_their_classes_and_unknown_names_are_refused():
    assert colpali.family("vidore/colqwen2.5-v0.2") == ("ColQwen2_5", "ColQwen2_5_Processor")
    with pytest.raises(ValueError, match="family"):
        colpali.family("bert-base-uncased")


def test_colpali_without_the_package_says_what_to_install():
    try:
        import colpali_engine  # noqa: F401
    except ImportError:
        with pytest.raises(colpali.ColPaliUnavailable, match="pip install"):
            colpali.load("vidore/colSmol-256M")
    else:
        pytest.skip("colpali-engine is installed: the real path is exercised in test_colpali_real")


def test_colpali_real():
    pytest.importorskip(
        "colpali_engine", reason="colpali-engine is not installed (optional: lateint[colpali])"
    )
    try:
        model, processor = colpali.load("vidore/colSmol-256M")
    except colpali.ColPaliUnavailable as error:
        pytest.skip(str(error))
    from PIL import Image

    images = [
        Image.fromarray(255 - p.image).convert("RGB") for p in pages.render_all([TEXT, "cats and dogs"])
    ]
    v = colpali.encode_images(model, processor, images)
    Q, Q_mask = colpali.encode_queries(model, processor, ["late interaction MaxSim"])
    scores = maxsim.maxsim(Q, *v.padded(), Q_mask)
    assert scores.shape == (1, 2) and scores[0, 0] > scores[0, 1]


def test_pages_drawn_by_several_processes_are_the_pages_one_draws():
    texts = [f"{TEXT} page {i}" for i in range(6)]
    alone = pages.render_all(texts, workers=1)
    shared = pages.render_all(texts, workers=2)
    for a, b in zip(alone, shared):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.char_patch, b.char_patch)
