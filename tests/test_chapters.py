"""Every chapter in _toc.yml runs top to bottom in smoke mode, and its glued numbers make sense."""

import json
import re
from pathlib import Path

import papermill
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [
        entry["file"]
        for entry in toc.get("chapters", []) + [p for part in toc.get("parts", []) for p in part["chapters"]]
    ]
    return [f for f in files if (ROOT / f"{f}.ipynb").exists()]


def glued(notebook: Path) -> dict[str, object]:
    """The values a notebook glued, by name (numbers parsed, text kept)."""
    values = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            data = output.get("data", {})
            text = next((v for k, v in data.items() if k.endswith("text/plain")), "")
            text = "".join(text) if isinstance(text, list) else text
            number = re.fullmatch(r"(?:np\.\w+\()?'?(-?[\d.e+-]+|nan|inf)'?\)?", text.strip())
            values[name] = float(number.group(1)) if number else text
    return values


# What each chapter must glue, and the range each value must fall in.
EXPECTED = {
    "book/01_comparison": {
        **{f"main_{m}_ndcg": (0.3, 1.0) for m in ("bm25", "dense", "late")},
        **{f"main_{m}_ms": (0.0, 60_000) for m in ("bm25", "dense", "late")},
        "main_late_vs_dense_mb": (1.0, 1000),
        # the comparison graphic's pair: MaxSim sums one cosine per query token
        "ex_query_tokens": (3, 16),
        "ex_maxsim": (0.5, 16.0),
        "ex_cosine": (0.05, 0.99),
        "ex_bm25": (0.0, 100.0),
    },
    "book/02_mechanism": {
        "pair_score": (1.0, 128.0),  # a sum of one cosine per query token, each at most 1
        "n_mask": (1, 29),  # ColBERT's view pads to 32 after [CLS] [Q] ... [SEP]
        "n_query_tokens": (32, 32),
        "n_dropped": (1, 256),  # every abstract has punctuation
        "hidden_dim": (384, 384),
        "dim": (128, 128),
        "n_pooling_cases": (0, 20),  # at most the smoke run's 20 queries
        "cos_relevant": (0.05, 0.99),
    },
    "book/02b_training": {
        # smoke subsets hold every query's relevant documents among 300: a working
        # ranker scores high, a broken one near 0
        **{f"main_{k}_ndcg": (0.6, 1.0) for k in ("bm25", "dense", "zeroshot", "late")},
        # from the card of MODEL: dev nDCG@10 before and after training
        "dev_before": (0.6, 0.8),
        "dev_best": (0.65, 0.85),
        "train_steps": (100, 10_000),
        "smoke_steps": (2, 20),  # 24 queries and 16 title pairs, batch 8, one epoch
        # from the stored bench records
        "chosen_scifact_dev": (0.65, 0.8),  # the rule's choice, on development data only
        "chosen_cranfield_dev": (0.35, 0.42),
        "zeroshot_cranfield_dev": (0.35, 0.42),
        "heads_tried": (3, 100),
        "heads_holding": (1, 100),  # the zero-shot start holds its own mean
        "heldout_train_queries": (100, 300),  # 20% of SciFact's 809 train queries
        # reported once on test: the default head on the smoke subsets, and how many
        # queries (Cranfield's test half: 10 of the subset's 20)
        "scifact_default_test": (0.5, 1.0),
        "cranfield_default_test": (0.3, 1.0),
        "scifact_test_queries": (20, 20),
        "cranfield_test_queries": (10, 10),
        "top_minutes": (1.0, 120),
        "top_peak_gib": (0.5, 64),
        "top_over_head_time": (2.0, 50),
        "size_ratio": (
            3.0,
            4.0,
        ),  # 384-d vectors of every token against 128-d vectors of non-punctuation tokens
    },
    "book/03_speed_quality": {
        "exh_ndcg": (0.3, 1.0),
        "nlist": (16, 65536),
        "trace_scored": (1, 10**6),
        "trace_kept": (1, 256),  # the pruned centroid interaction keeps at most ndocs=256
        "best_ndcg": (0.3, 1.0),
        "best_p50": (0.0, 10_000),
        # smoke subsets are tiny and timings on a shared machine vary: the index need not win there
        "speedup": (0.01, 10**5),
        "bm25s_ms": (0.0, 10_000),
        # Qdrant's engine scoring every point returns exactly lateint's top-10 for every query
        # checked: the 20 of a smoke subset, or the 16 of the built-in collection
        "qdrant_same": (16, 20),
        "qdrant_int8_same": (0, 20),
        "muvera_ndcg": (0.3, 1.0),
        "muvera_p50": (0.0, 10_000),
        "muvera_dim": (5120, 5120),  # 20 repetitions x 2**4 partitions x 16 dimensions
        "mv_partitions": (16, 16),
        "mv_repetitions": (20, 20),
        "mv_maxsim": (0.5, 64.0),  # one cosine per query token, at most 32 tokens
        "msmarco_int8_gib": (71, 72),  # 597.9M tokens x 128 bytes = 71.3 GiB
        "exp_exh": (0.0, 3.0),
    },
    "book/04_size": {
        "ref_ndcg": (0.3, 1.0),
        "res2_bytes": (34, 34),  # 2-byte centroid id + 128 dimensions x 2 bits
        "knee_bytes": (16, 34),  # the smoke subset keeps every code down to sign bits within a point
        "d_fp16": (-0.5, 0.5),  # half precision moves nDCG@10 by less than half a point
        "d_int8": (-1.0, 1.0),
        # the residual-code figure's token: 2-byte id + 32 bytes of 2-bit codes, decoded close to it
        "rx_id_bytes": (2, 2),
        "rx_code_bytes": (32, 32),
        "rx_cosine": (0.85, 1.0),
        "rx_median_cosine": (0.85, 1.0),
        "default_dim": (384, 384),  # the default head keeps every dimension
        "default_fp16_bytes": (768, 768),
        "default_res2_bytes": (98, 98),  # 2-byte centroid id + 384 dimensions x 2 bits
        "default_fp16_ratio": (3, 3),
    },
    "book/05_thinking_tokens": {
        "ex_vectors": (6, 32),  # word pieces + [CLS] + [SEP] + 3 masks: at least the post's 6
        "ex_masks": (3, 3),
        "ex_special": (2, 2),  # [CLS] and [SEP] (the shipped model has no marker)
        "ex_lookups": (6, 32),
        "ex_candidates": (1, 10**6),
        # the mask rows of the example pair: 3 of 12 rows, each adding one cosine to MaxSim
        "ex_pair_score": (1.0, 12.0),
        "ex_mask_pair_share": (5.0, 60.0),
        "mask_share": (5.0, 60.0),  # percent of MaxSim carried by 8 mask rows
        "main_sweep_base": (0.3, 1.0),
        "main_sweep_most": (32, 32),  # smoke sweeps 0, 1 and 32 attended masks by default
        "short_cases": (1, 2),  # smoke: this page's model on each collection loaded (no stored variants)
        # from the stored make bench-thinking record
        "rec_trained_masks": (32, 32),
        "rec_cls_head": (50.0, 100.0),  # trained with masks, the masks match the document's [CLS]
    },
    "book/06_colpali": {
        "colpali_vectors": (1030, 1030),
        "patch_px": (16, 16),
        "ex_patches": (1, 32 * 24),  # inked patches of one page, within the grid
        "ex_tokens": (1, 256),
        # pages_ndcg and row_two_stage_ndcg are not checked: the smoke run's one-epoch
        # patch encoder ranks at chance (about 0.02 on 300 pages), as a broken one would
        "text_ndcg": (0.6, 1.0),
        "patches_per_page": (10, 32 * 24),
        "patches_over_tokens": (0.5, 10),
        "colpali_fp16_kib": (257, 258),  # 1,030 vectors x 128 dims x 2 bytes = 257.5 KiB
        "row_vectors": (1, 24),  # one per line of text
        # the smoke encoder learns in its one epoch: from about 0 at its random start to
        # 0.18 on the benchmarks' subsets (0.07 on the 36 built-in pages)
        "dev_cosine": (0.05, 0.6),
    },
}


def test_toc_lists_every_chapter():
    on_disk = {f"book/{p.stem}" for p in (ROOT / "book").glob("*.ipynb")}
    assert on_disk <= set(chapters()), f"chapters missing from _toc.yml: {on_disk - set(chapters())}"


@pytest.mark.parametrize("chapter", chapters())
def test_chapter_runs_in_smoke_mode(chapter, tmp_path):
    out = tmp_path / f"{Path(chapter).name}.ipynb"
    papermill.execute_notebook(
        str(ROOT / f"{chapter}.ipynb"),
        str(out),
        parameters={"SMOKE": True},
        cwd=str(ROOT / "book"),
        kernel_name="python3",
        progress_bar=False,
    )
    values = glued(out)
    expected = EXPECTED.get(chapter, {})
    assert expected, f"{chapter}: add its glued values to EXPECTED"
    for name, (low, high) in expected.items():
        assert name in values, f"{chapter} did not glue {name!r}"
        assert isinstance(values[name], float) and low <= values[name] <= high, (
            f"{chapter}: {name} = {values[name]!r}, expected in [{low}, {high}]"
        )
