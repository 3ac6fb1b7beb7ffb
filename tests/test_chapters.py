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
        "main_doc_tokens": (3, 256),
        "main_late_vs_dense_mb": (1.0, 1000),
    },
    "book/02_mechanism": {
        "pair_score": (0.0, 256.0),
        "n_mask": (0, 32),
        "n_dropped": (0, 256),
        "hidden_dim": (384, 384),
        "dim": (128, 128),
        "n_pooling_cases": (0, 10**4),
    },
    "book/02b_training": {
        **{f"main_{k}_ndcg": (0.3, 1.0) for k in ("bm25", "dense", "zeroshot", "late")},
        "dev_before": (0.0, 1.0),
        "dev_best": (0.0, 1.0),
        "train_steps": (1, 10**6),
        "smoke_steps": (1, 1000),
        # from the stored bench records
        "chosen_scifact": (0.3, 1.0),
        "chosen_cranfield": (0.2, 1.0),
        "rule_zeroshot_cranfield": (0.2, 1.0),
        "heads_tried": (3, 100),
        "heads_both": (0, 100),
        "top_minutes": (0.0, 600),
        "top_peak_gb": (0.1, 128),
        "top_over_head_time": (0.1, 1000),
        "size_ratio": (
            3.0,
            4.0,
        ),  # 384-d vectors of every token against 128-d vectors of non-punctuation tokens
    },
    "book/03_speed_quality": {
        "exh_ndcg": (0.3, 1.0),
        "nlist": (16, 65536),
        "trace_scored": (1, 10**6),
        "best_ndcg": (0.3, 1.0),
        "best_p50": (0.0, 10_000),
        "speedup": (0.5, 10**5),  # smoke subsets are tiny: the index need not win there
        "bm25s_ms": (0.0, 10_000),
        # Qdrant's engine scoring every point returns exactly lateint's top-10 for every query checked
        "qdrant_same": (10, 10),
        "qdrant_int8_same": (0, 10),
        "muvera_ndcg": (0.3, 1.0),
        "muvera_p50": (0.0, 10_000),
        "muvera_dim": (5120, 5120),  # 20 repetitions x 2**4 partitions x 16 dimensions
        "msmarco_int8_gb": (76, 77),  # 597.9M tokens x 128 bytes
        "exp_exh": (0.0, 3.0),
    },
    "book/04_size": {
        "ref_ndcg": (0.3, 1.0),
        "res2_bytes": (34, 34),  # 2-byte centroid id + 128 dimensions x 2 bits
        "knee_bytes": (1, 512),
        "d_fp16": (-0.5, 0.5),  # half precision moves nDCG@10 by less than half a point
        "d_int8": (-1.0, 1.0),
        "best20_bytes": (1, 20),
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
        "mask_share": (0.0, 100.0),
        "main_sweep_base": (0.3, 1.0),
        "main_sweep_best": (0.3, 1.0),
        "main_sweep_ms_ratio": (0.5, 1000),
        "short_cases": (1, 20),  # this page's model on each collection, then the stored variants
        "short_held": (0, 20),
    },
    "book/06_colpali": {
        "colpali_vectors": (1030, 1030),
        "patch_px": (16, 16),
        "ex_patches": (1, 32 * 24),  # inked patches of one page, within the grid
        "ex_tokens": (1, 256),
        "pages_ndcg": (0.0, 1.0),
        "text_ndcg": (0.3, 1.0),
        "patches_per_page": (10, 32 * 24),
        "patches_over_tokens": (0.5, 10),
        "colpali_fp16_kib": (257, 258),  # 1,030 vectors x 128 dims x 2 bytes = 257.5 KiB
        "row_vectors": (1, 24),  # one per line of text
        "row_two_stage_ndcg": (0.0, 1.0),
        "dev_cosine": (-1.0, 1.0),
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
