"""The shipped heads against the record that chose them (``make bench-heads``)."""

import json

from conftest import benchmark

from lateint import load_encoder
from lateint.checkpoints import DEFAULT, HEADS, shipped_heads
from lateint.evaluate import run_method
from lateint.experiments import records


def chosen_row(record):
    return next(r for r in record["rows"] if r["head"] == record["chosen"])


def test_the_record_chose_by_its_rule():
    record = records.load("heads")
    rule, rows = record["rule"], record["rows"]
    zero_shot = next(r for r in rows if r["head"] == "384-d from identity, untrained")
    assert rule["cranfield_at_least"] == zero_shot["cranfield"]
    holding = [r for r in rows if r["cranfield"] >= rule["cranfield_at_least"]]
    assert chosen_row(record) in holding
    assert chosen_row(record)["scifact"] == max(r["scifact"] for r in holding)


def test_the_default_is_the_chosen_head_trained_as_its_card_says():
    record = records.load("heads")
    chosen = chosen_row(record)
    card = json.loads((HEADS / DEFAULT / "card.json").read_text())
    assert DEFAULT in shipped_heads() and "lateint-minilm" in shipped_heads()
    assert card["train_config"]["mix"] == chosen["mix"] and card["train_config"]["dim"] == chosen["dim"]
    for key, value in record["train_config"].items():
        assert card["train_config"][key] == value, key
    assert card["command"].startswith("python -m lateint.train ")


def test_the_default_head_scores_what_the_record_says():
    chosen = chosen_row(records.load("heads"))
    encoder = load_encoder()
    assert encoder.name == DEFAULT and encoder.dim == chosen["dim"]
    for name in ("cranfield", "scifact"):
        result = run_method("late", benchmark(name), encoder, timing_queries=0)
        assert round(result.metrics["nDCG@10"], 4) == chosen[name], name
