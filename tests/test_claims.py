"""Findings the chapters state are checked on computed values, and the uncertainty behind them.

A chapter's sentence that states a finding goes through ``report.claim``: the build
fails naming the sentence when the values stop supporting it, and every claimed
sentence is in the chapter's prose word for word.
"""

import ast
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lateint.experiments import published, report, stats
from lateint.experiments.stats import Difference

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def cells(notebook: Path, kind: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == kind]


def claimed(source: str) -> list[tuple[ast.expr, ast.expr]]:
    """(sentence, condition) of every ``report.claim(text, holds)`` and ``report.claims({text: holds})``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr == "claim":
            holds = (
                node.args[1]
                if len(node.args) > 1
                else next(k.value for k in node.keywords if k.arg == "holds")
            )
            found.append((node.args[0], holds))
        elif node.func.attr == "claims" and isinstance(node.args[0], ast.Dict):
            found += list(zip(node.args[0].keys, node.args[0].values))
    return found


def prose(notebook: Path) -> str:
    """The chapter's markdown as a reader sees it: no emphasis markers, whitespace folded."""
    text = "\n".join(cells(notebook, "markdown"))
    return re.sub(r"\s+", " ", text.replace("**", "").replace("*", ""))


def test_a_claim_that_the_values_contradict_fails_naming_its_sentence():
    source = next(s for s in cells(ROOT / "book/01_comparison.ipynb", "code") if "report.claims(" in s)
    better, worse, tie = (
        Difference(0.05, 0.02, 0.08, 300),
        Difference(-0.05, -0.08, -0.02, 300),
        Difference(0.0, -0.01, 0.01, 225),
    )
    supported = {
        "scifact": {"bm25": better, "dense": better, "zeroshot": better},
        "cranfield": {"bm25": better, "dense": tie, "zeroshot": tie},
    }
    bm25 = SimpleNamespace(metrics={"nDCG@10": published.BEIR_BM25_SCIFACT_NDCG - 0.003})
    scope = {"report": report, "published": published, "FULL": True, "results": {"scifact": {"bm25": bm25}}}
    exec(source, {**scope, "diffs": supported})  # the values the sentences state: every claim holds
    contradicted = {**supported, "scifact": {**supported["scifact"], "bm25": worse}}
    with pytest.raises(
        report.ClaimError, match="late interaction beats both BM25 and the single pooled vector"
    ):
        exec(source, {**scope, "diffs": contradicted})


def test_smoke_runs_show_claims_without_checking_them():
    report.claim("a finding no smoke subset can support", np.bool_(False), check=False)


def test_a_claim_needs_a_computed_condition():
    with pytest.raises(TypeError, match="comparison"):
        report.claim("holds", 1)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_every_claimed_sentence_is_in_the_prose_and_checks_computed_values(notebook):
    text = prose(notebook)
    for source in cells(notebook, "code"):
        for sentence_node, holds in claimed(source):
            sentence = ast.literal_eval(sentence_node)  # a sentence, typed in the cell
            assert re.sub(r"\s+", " ", sentence) in text, f"{notebook.stem}: {sentence!r} is not in its prose"
            assert not isinstance(holds, ast.Constant), f"{notebook.stem}: {sentence!r} checks a literal"


def test_paired_bootstrap_finds_a_real_difference_and_calls_noise_a_tie():
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, 300)
    shifted = stats.paired_bootstrap(base + 0.05 + rng.normal(0, 0.02, 300), base)
    assert shifted.a_better and shifted.low < 0.05 < shifted.high
    noise = stats.paired_bootstrap(base + rng.normal(0, 0.2, 300), base)
    assert noise.tie
    assert stats.paired_bootstrap(base, base + 0.1).b_better
    assert format(shifted, ".2f").startswith(f"{shifted.mean:+.2f} (95% interval ")


def test_paired_bootstrap_is_reproducible_and_refuses_unpaired_input():
    a, b = np.linspace(0, 1, 50), np.linspace(0.1, 0.8, 50)
    assert stats.paired_bootstrap(a, b) == stats.paired_bootstrap(a, b)
    with pytest.raises(ValueError, match="equally long"):
        stats.paired_bootstrap(a, b[:-1])
    with pytest.raises(ValueError, match="different queries"):
        stats.compare({"q1": 1.0}, {"q2": 1.0})
