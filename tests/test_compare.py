import os
from pathlib import Path

from lateint import evaluate
from lateint.experiments import compare


def test_rankings_are_cached_and_shared(builtin):
    first = evaluate.run_method("bm25", builtin, timing_queries=3)
    runs = Path(os.environ["LATEINT_CACHE"]) / "runs"
    entries = set(runs.iterdir())
    second = evaluate.run_method("bm25", builtin, timing_queries=3)
    assert set(runs.iterdir()) == entries  # nothing new computed
    assert second.run == first.run and second.metrics == first.metrics and second.query_ms == first.query_ms
    evaluate.run_method("bm25", builtin.subset(5, 20), timing_queries=3)
    assert len(set(runs.iterdir())) == len(entries) + 1  # another collection: another entry


def test_failure_cases_pick_the_largest_rank_gap():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}

    class R:  # only .run is read
        def __init__(self, run):
            self.run = run

    results = {
        "bm25": R({"q1": {"a": 2.0}, "q2": {"x": 1.0, "b": 0.5}}),
        "late": R({"q1": {f"x{i}": 1.0 - i / 100 for i in range(50)} | {"a": 0.0}, "q2": {"b": 1.0}}),
    }
    cases = compare.failure_cases(results, qrels)
    bm25_wins = [c for c in cases if c["winner"] == "bm25"]
    assert bm25_wins == [
        {
            "winner": "bm25",
            "loser": "late",
            "query_id": "q1",
            "winner_rank": 1,
            "loser_rank": 51,
            "relevant_doc_id": "a",
        }
    ]
    assert not [
        c for c in cases if c["winner"] == "late"
    ]  # bm25 has q2's relevant document at rank 2: not a failure
