"""The shipped heads against the record that chose them (``make bench-heads``)."""

import json

from conftest import benchmark

from lateint import load_encoder
from lateint.checkpoints import DEFAULT, HEADS, shipped_heads
from lateint.evaluate import run_method
from lateint.experiments import records, training


def test_the_record_chose_on_dev_data_by_its_rule():
    record = records.load("heads")
    rule, rows = record["rule"], record["rows"]
    zero_shot = next(r for r in rows if r["head"] == "384-d from identity, untrained")
    assert rule["cranfield_dev_at_least"] == zero_shot["cranfield_dev"]
    holding = [r for r in rows if r["cranfield_dev"] >= rule["cranfield_dev_at_least"]]
    chosen = training.chosen(record)
    assert chosen in holding
    assert chosen["scifact_dev"] == max(r["scifact_dev"] for r in holding)


def test_test_judgments_are_reported_for_three_heads_only():
    record = records.load("heads")
    reported = [r["head"] for r in record["rows"] if "test" in r]
    assert record["chosen"] in reported and len(reported) <= 3
    assert "384-d from identity, untrained" in reported


def test_the_default_is_the_chosen_head_and_its_card_carries_the_evaluation():
    record = records.load("heads")
    chosen = training.chosen(record)
    card = json.loads((HEADS / DEFAULT / "card.json").read_text())
    assert DEFAULT in shipped_heads() and "lateint-minilm" in shipped_heads()
    assert card["train_config"]["mix"] == chosen["mix"] and card["train_config"]["dim"] == chosen["dim"]
    for key, value in record["train_config"].items():
        assert card["train_config"][key] == value, key
    assert card["command"] == record["shipped"]["command"]
    assert record["shipped"]["max_weight_difference"] <= 1e-5
    assert "Cranfield's test half" in card["data"]["never_used"]
    test = card["evaluation"]["test"]
    assert test["scifact"]["nDCG@10"] == chosen["test"]["scifact"]["nDCG@10"]
    assert test["cranfield test half"]["nDCG@10"] == chosen["test"]["cranfield"]["nDCG@10"]
    assert card["data"]["dev_query_ids"]  # the held-out queries the choice looked at


def test_the_default_head_scores_what_the_record_says():
    record = records.load("heads")
    chosen = training.chosen(record)
    encoder = load_encoder()
    assert encoder.name == DEFAULT and encoder.dim == chosen["dim"]
    collections = training.test_sets([benchmark("scifact"), benchmark("cranfield")], record)
    for collection in collections:
        result = run_method("late", collection, encoder, timing_queries=0)
        assert round(result.metrics["nDCG@10"], 4) == chosen["test"][collection.name]["nDCG@10"], (
            collection.name
        )
