import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from lateint.experiments import plots
from lateint.explain import align
from lateint.maxsim import maxsim


@pytest.fixture(scope="module")
def alignment(colbert_style):
    return align(
        colbert_style, "what raises the tides", "The Moon's gravity raises the ocean tides, twice a day."
    )


def test_alignment_is_maxsim(colbert_style, alignment):
    Q, Q_mask = colbert_style.encode_queries(["what raises the tides"])
    D, D_mask = colbert_style.encode_documents(["The Moon's gravity raises the ocean tides, twice a day."])
    assert alignment.score == pytest.approx(float(maxsim(Q, D, D_mask, Q_mask)), abs=1e-4)
    assert alignment.sim.shape == (len(alignment.query_tokens), len(alignment.doc_tokens))
    assert (
        "," not in alignment.doc_tokens and "'" not in alignment.doc_tokens
    )  # skiplisted: no vectors, no columns
    for row, j in enumerate(alignment.best_index.tolist()):
        assert alignment.sim[row, j] == alignment.sim[row].max()


def test_doc_weights_add_up_to_the_positive_matches(alignment):
    assert float(alignment.doc_weights().sum()) == pytest.approx(
        float(alignment.best_score.clamp(min=0).sum()), abs=1e-5
    )


def test_heatmap_boxes_one_cell_per_query_token(alignment):
    fig = plots.heatmap(alignment)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]
    assert len(boxes) == len(alignment.query_tokens)
    assert [t.get_text() for t in ax.get_yticklabels()] == alignment.query_tokens


def test_heatmap_keeps_every_matched_column_of_a_long_document(colbert_style):
    long = align(
        colbert_style.with_config(doc_maxlen=200), "tides", "filler words here " * 30 + "the ocean tides"
    )
    fig = plots.heatmap(long, max_columns=20)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert all(long.doc_tokens[j] in labels for j in long.best_index.tolist())
    assert len(labels) <= 20 < len(long.doc_tokens)  # a long document is cut to what matched


def test_highlight_escapes_html():
    from lateint.explain import Alignment

    a = Alignment(
        ["q"], ["<b>", "&", "##x"], torch.tensor([[0.2, 0.9, 0.1]]), torch.tensor([1]), torch.tensor([0.9])
    )
    html = plots.highlight_html(a)
    assert "<b>" not in html and "&lt;b&gt;" in html and " &amp;" in html
    assert "&amp;</span><span" in html and ">x</span>" in html  # "##x" continues the word: no space
