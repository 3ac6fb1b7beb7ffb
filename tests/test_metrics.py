import math

import pytest

from lateint.metrics import evaluate, per_query, run_from_topk


def test_hand_checked_toy_ranking():
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"c": 1}}
    run = {"q1": {"b": 3.0, "x": 2.0, "a": 1.0}, "q2": {"x": 1.0, "y": 0.5}}
    m = per_query(run, qrels)
    # q1: gains 1, 0, 2 at ranks 1..3; ideal 2, 1.
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert m["nDCG@10"]["q1"] == pytest.approx(dcg / idcg)
    assert m["MRR@10"]["q1"] == pytest.approx(1.0)
    assert m["R@100"]["q1"] == pytest.approx(1.0)
    assert m["nDCG@10"]["q2"] == 0.0 and m["R@100"]["q2"] == 0.0
    assert evaluate(run, qrels)["MRR@10"] == pytest.approx(0.5)


def test_query_without_results_counts_as_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    assert evaluate({"q1": {"a": 1.0}}, qrels)["nDCG@10"] == pytest.approx(0.5)


def test_run_from_topk_maps_indices_to_ids():
    run = run_from_topk(["q"], ["a", "b", "c"], [[0.9, 0.1]], [[2, 1]])
    assert run == {"q": {"c": 0.9, "b": 0.1}}


def test_no_judged_queries_is_an_error():
    with pytest.raises(ValueError):
        evaluate({}, {})
