import pytest

from lateint.experiments import report


def test_table_is_html_with_numbers_right_aligned_and_the_best_in_bold():
    t = report.table(
        ["method", "nDCG@10", "ms"],
        [["bm25", "0.662", "42.1"], ["late", "0.744", "1,308.0"]],
        best={"nDCG@10": "max", "ms": "min"},
        title="**scifact**, 300 queries",
    )
    html = t._repr_html_()
    assert html.startswith(
        '<p><strong>scifact</strong>, 300 queries</p><div class="lateint-table-wrap lateint-scroll"><table'
    )
    assert "<strong>0.744</strong>" in html and "<strong>42.1</strong>" in html
    assert "<strong>0.662</strong>" not in html and "<strong>1,308.0</strong>" not in html
    assert html.count('style="text-align: right"') == 2 * 3  # two numeric columns: header + 2 rows each
    assert "|---|" not in html


def test_collapsed_table_folds_under_a_summary_and_text_form_stays_readable():
    t = report.table(["a"], [["1"], ["2"]], collapsed="All 2 settings")
    assert t._repr_html_().startswith(
        '<details><summary>All 2 settings</summary><div class="lateint-table-wrap lateint-scroll">'
    )
    assert repr(t).splitlines() == ["a", "1", "2"]


def test_table_refuses_what_it_cannot_show():
    with pytest.raises(ValueError, match="not in the table"):
        report.table(["a"], [["1"]], best={"b": "max"})
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        report.table(["a", "b"], [["1"]])


def test_glue_all_stores_numpy_scalars_as_python_numbers(monkeypatch):
    import myst_nb
    import numpy as np

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    report.glue_all({"ratio": np.float64(0.25), "count": np.int64(3), "label": "fp16"})
    assert glued == {"ratio": 0.25, "count": 3, "label": "fp16"}
    assert type(glued["ratio"]) is float and type(glued["count"]) is int


def test_a_wide_figure_is_narrowed_until_its_saved_image_fits_the_column():
    import io
    import struct

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3))
    ax.set_title("a title as wide as the figure " * 3)
    report.fit_width(fig)
    report.check_legible("fig_wide", fig)
    png = io.BytesIO()
    fig.savefig(png, dpi=100, bbox_inches="tight")  # as the page's figures are saved
    width = struct.unpack(">I", png.getvalue()[16:20])[0]  # the PNG header's width
    assert width <= report.MAX_WIDTH_IN * 100
    plt.close(fig)
