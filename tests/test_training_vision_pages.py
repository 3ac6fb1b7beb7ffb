"""What the training and ColPali chapters show: their helpers and their figures."""

import numpy as np
import torch
from test_size_speed import assert_legible

from lateint import load_encoder, pages
from lateint.checkpoints import DEFAULT
from lateint.experiments import plots, records, training, vision
from lateint.vectors import TokenVectors, offsets_from_lengths

legible = assert_legible  # what the book refuses to glue (report.prepare_figure), and no colliding texts


def test_a_head_without_a_card_is_said_to_have_none():
    assert training.card("no-such-head") is None
    assert training.card("lateint-minilm")["model"] == "lateint-minilm"


def test_the_model_box_says_the_default_head_was_chosen_on_development_data(shipped):
    box = training.model_box(shipped, [], records.load("heads")).data
    assert "chosen on development data only" in box and "the other half" in box
    assert box.endswith("</p></div>") and box.count("<div") == 1


def test_the_identity_start_is_the_default_head_with_an_identity_projection():
    default = load_encoder(DEFAULT)
    start = training.identity_start(default)
    assert torch.equal(start.projection.weight, torch.eye(default.dim))
    assert start.config == default.config and start.fingerprint() != default.fingerprint()
    q = start.encode_queries(["tidal currents"])[0]
    assert torch.allclose(q.norm(dim=-1)[q.norm(dim=-1) > 0], torch.ones(1), atol=1e-5)


def test_the_heads_record_has_one_chosen_row_and_curves_from_start_to_trained():
    record = records.load("heads")
    assert training.chosen(record)["head"] == record["chosen"]
    curve = training.mixing_curve(record, 384, "identity")
    alphas = [a for a, _ in curve]
    assert alphas[0] == 0 and alphas[-1] == 1 and alphas == sorted(alphas)


def test_training_figures_are_legible():
    card = training.card("lateint-minilm")
    legible(plots.training_curve(card["history"], card["best_epoch"]))
    legible(plots.training_curve([], None, "no card"))
    record = records.load("heads")
    curves = {
        f"{d}-d": [
            (a, r["scifact_dev"], r["cranfield_dev"]) for a, r in training.mixing_curve(record, d, init)
        ]
        for d, init in ((384, "identity"), (128, "pca"))
    }
    pick, start = training.chosen(record), training.mixing_curve(record, 384, "identity")[0][1]
    fig = plots.mixing_curves(
        curves,
        (start["scifact_dev"], start["cranfield_dev"]),
        (pick["mix"], pick["scifact_dev"], pick["cranfield_dev"]),
    )
    legible(fig)
    bars = {"scifact": {"bm25": 0.652, "dense": 0.640, "zeroshot": 0.707, "late": 0.744}, "cranfield": {}}
    bars["cranfield"] = {"bm25": 0.329, "dense": 0.382, "zeroshot": 0.383, "late": 0.381}
    legible(plots.metric_bars(bars, "nDCG@10", reference={"scifact": 0.693}))


def test_rank_returns_per_query_values_whose_mean_it_reports(builtin):
    g = torch.Generator().manual_seed(2)
    lengths = torch.randint(2, 6, (len(builtin.doc_ids),), generator=g)
    grid = torch.cat([torch.randperm(8, generator=g)[:n].sort().values for n in lengths.tolist()])
    v = torch.nn.functional.normalize(torch.randn(int(lengths.sum()), 8, generator=g), dim=1)
    tv = TokenVectors(v, offsets_from_lengths(lengths), grid)
    Q = torch.nn.functional.normalize(torch.randn(len(builtin.query_ids), 3, 8, generator=g), dim=-1)
    ranked = vision.rank(Q, torch.ones(Q.shape[:2], dtype=torch.bool), tv, builtin, k=5)
    per_query = ranked["per_query"]["nDCG@10"]
    assert set(per_query) == set(builtin.qrels)
    assert np.isclose(np.mean(list(per_query.values())), ranked["nDCG@10"])
    assert ranked["vectors_per_page"] == float(lengths.float().mean()) and ranked["seconds"] >= 0


def test_colpali_figures_are_legible():
    config = pages.PageConfig()
    page = pages.render(
        "Late interaction keeps one vector per token and scores pages by MaxSim. " * 6, config
    )
    ink = pages.inked(page, config)
    legible(plots.page_patches(page.image, ink, config.patch, config.columns))
    rows = page.image.shape[0] // config.patch
    maps = [(t, np.random.default_rng(i).uniform(0, 1, (rows, config.columns))) for i, t in enumerate("abc")]
    legible(plots.similarity_maps([("works", page.image, maps), ("fails", page.image, maps)], config.patch))
    curve = [(400.0, 0.52, "1 x 1"), (200.0, 0.50, "1 x 2"), (55.0, 0.45, "2 x 4"), (13.0, 0.30, "1 x 32")]
    legible(plots.pooling_curve(curve, 0.74, 0.65, {10: 21.0, 20: 10.5}))
