"""What the training chapter shows: a head's card, the systems it is set beside, the
rule that chose the default head, and the variants of what trains.

The chapter trains nothing long: the shipped heads' cards (``lateint/heads/*/card.json``)
and the stored bench records (``records.load("heads")``, ``records.load("thinking")``)
hold what ``make train``, ``make bench-heads`` and ``make bench-thinking`` measured.
This module reads them, lays them out as tables, glues their numbers and draws their
figures (``plots``). It states no finding: the chapter's prose does, and checks it.

Left out: training itself (``lateint.train``) and every retrieval measurement
(``lateint.evaluate``, ``compare``).
"""

from __future__ import annotations

import html
import json
import math

import torch
from IPython.display import HTML, display

from ..checkpoints import DEFAULT, HEADS
from ..data import Collection
from ..encoder import Encoder
from ..evaluate import Result
from ..train import TrainConfig
from . import plots, published, records, report
from .stats import Difference

SYSTEMS = ("bm25", "dense", "zeroshot", "late")


def card(name: str) -> dict | None:
    """The card of the shipped head ``name`` (``lateint/heads/<name>/card.json``), or None
    when ``name`` has none (a checkpoint from outside this book, or zero-shot)."""
    path = HEADS / name / "card.json"
    return json.loads(path.read_text()) if path.is_file() else None


def default_head_note(record: dict) -> str:
    """One sentence on how the default head was chosen, and on what."""
    pick = chosen(record)
    return (
        f"The head a reader gets by default, <code>{html.escape(DEFAULT)}</code>, is another one: its "
        f"mixing weight (alpha = {pick['mix']:g}; 0 is the zero-shot start, 1 the trained head) was chosen "
        "on development data only "
        "(<code>make bench-heads</code>): SciFact train queries held out from training, "
        "and a random half of Cranfield's queries. "
        "Its Cranfield numbers on this page come from the other half."
    )


def model_box(encoder: Encoder, collections: list[Collection], record: dict) -> HTML:
    """``report.model_box`` with the default head's note added inside the box."""
    box = report.model_box(encoder, collections).data
    end = box.rindex("</p></div>")
    return HTML(box[:end] + " " + default_head_note(record) + box[end:])


def show_card(name: str) -> None:
    """What the card of head ``name`` says about its training run, as a data note, and
    its history as ``fig_curve``; glues ``train_minutes``, ``train_steps``,
    ``dev_before``, ``dev_best`` (nan where the card or its dev scores are missing)."""
    head_card = card(name)
    if head_card is None:
        display(
            report.markdown(
                f"`{name}` has **no card** (`lateint/heads/{name}/card.json`): this page cannot say how "
                "it was trained, and the figure below is empty."
            )
        )
        report.glue_all(
            {"train_minutes": math.nan, "train_steps": 0, "dev_before": math.nan, "dev_best": math.nan}
        )
        report.glue_figure("fig_curve", plots.training_curve([], None, f"{name} has no card"))
        return
    d, cfg, history = head_card["data"], head_card["train_config"], head_card["history"]
    display(
        report.markdown(
            f"`{name}` was trained by `python -m lateint.train`: {d['train_queries']}; dev: "
            f"{d['dev_queries']}; {d['title_pairs']:,} title pairs; hard negatives from "
            f"{d['hard_negatives']}. {head_card['steps']:,} steps, last or best dev epoch "
            f"{head_card['best_epoch']}, {head_card['wall_seconds'] / 60:.1f} minutes on "
            f"{head_card['threads']} threads. Queries padded with [MASK]: "
            f"{'yes' if cfg['query_augmentation'] else 'no'}. Its card's list of data never used: "
            f"{d['never_used']}."
        )
    )
    dev = [h["dev_nDCG@10"] for h in history]
    report.glue_all(
        {
            "train_minutes": head_card["wall_seconds"] / 60,
            "train_steps": head_card["steps"],
            "dev_before": dev[0],
            "dev_best": max(dev),
        }
    )
    report.glue_figure("fig_curve", plots.training_curve(history, head_card["best_epoch"]))


def smoke_config(collection: Collection) -> TrainConfig:
    """A few training steps on a smoke subset: top layer and head, one epoch."""
    return TrainConfig(
        collection=str(collection.path) if collection.is_builtin else collection.name,
        split="test" if collection.is_builtin else "train",
        max_queries=24,
        max_docs=200,
        epochs=1,
        batch_size=8,
        title_pairs=16,
        trains="top",
    )


def show_systems(
    collections: list[Collection],
    systems: dict[str, dict[str, Result]],
    diffs: dict[str, dict[str, Difference]],
    encoder: Encoder,
    published_line: bool,
) -> None:
    """One table per collection (the trained head minus each system, with its 95% paired
    bootstrap interval), the bar figure ``fig_trained``, and the glue: ``<collection>_<system>_ndcg``,
    ``<collection>_late_vs_<system>`` (a formatted difference), ``main_*_ndcg``, ``size_ratio``."""
    labels = {
        "bm25": "BM25 (full text)",
        "dense": "dense, one mean-pooled MiniLM vector",
        "zeroshot": "late, zero-shot MiniLM tokens (384-d)",
        "late": f"late, trained head ({encoder.name}, {encoder.dim}-d)",
    }
    header = ["system", "nDCG@10", "trained head minus this (95% interval)", "R@100", "MRR@10", "index (MiB)"]
    best = {"nDCG@10": "max", "R@100": "max", "MRR@10": "max", "index (MiB)": "min"}
    values = {}
    for c in collections:
        r, d = systems[c.name], diffs[c.name]
        rows = [
            [
                labels[k],
                f"{r[k].metrics['nDCG@10']:.3f}",
                f"{d[k].low:+.3f} to {d[k].high:+.3f}" if k in d else "",
                f"{r[k].metrics['R@100']:.3f}",
                f"{r[k].metrics['MRR@10']:.3f}",
                f"{r[k].index_bytes / 2**20:.1f}",
            ]
            for k in SYSTEMS
        ]
        display(report.table(header, rows, title=f"**{c.name}**, {r['late'].n_queries} queries", best=best))
        values |= {f"{c.name}_{k}_ndcg": r[k].metrics["nDCG@10"] for k in SYSTEMS}
        values |= {f"{c.name}_late_vs_{k}": f"{v:.3f}" for k, v in d.items()}
    main = systems[collections[0].name]
    values |= {f"main_{k}_ndcg": main[k].metrics["nDCG@10"] for k in SYSTEMS}
    values |= {
        "colbertv2_scifact": published.COLBERTV2_SCIFACT_NDCG,
        "main_name": collections[0].name,
        "size_ratio": main["zeroshot"].index_bytes / main["late"].index_bytes,
    }
    report.glue_all(values)
    table = {c: {k: r[k].metrics["nDCG@10"] for k in SYSTEMS} for c, r in systems.items()}
    reference = (
        {"scifact": published.COLBERTV2_SCIFACT_NDCG} if published_line and "scifact" in systems else None
    )
    fig = plots.metric_bars(table, "nDCG@10", labels, reference, reference_label="ColBERTv2,\nzero-shot")
    report.glue_figure("fig_trained", fig)


def identity_start(head: Encoder) -> Encoder:
    """``head`` with the identity as its projection: where the default head's training
    started (alpha = 0), the heads record's "zero-shot" row. It is MaxSim over MiniLM's
    own 384-d token vectors like ``minilm-zeroshot``, but with the head's settings:
    punctuation skipped, queries cut at ``query_maxlen``."""
    if head.dim != head.backbone.config.hidden_size:
        raise ValueError(f"an identity start needs dim = {head.backbone.config.hidden_size}, not {head.dim}")
    projection = torch.nn.Linear(head.dim, head.dim, bias=False)
    projection.weight.data.copy_(torch.eye(head.dim))
    name = f"{head.name}, identity start"
    return Encoder(head.backbone, head.tokenizer, projection, head.config, name, head.backbone_id)


def chosen(record: dict) -> dict:
    """The heads record's row the rule chose."""
    return next(r for r in record["rows"] if r["head"] == record["chosen"])


def mixing_curve(record: dict, dim: int, init: str) -> list[tuple[float, dict]]:
    """``(alpha, row)`` of one head size from its start (0) to the trained head (1)."""
    name = f"{dim}-d from {init}"
    return sorted(
        ((r["mix"], r) for r in record["rows"] if r["head"].startswith(name + ",")), key=lambda p: p[0]
    )


def test_sets(collections: list[Collection], record: dict) -> list[Collection]:
    """Where the default head is reported: each collection's test queries, Cranfield's
    cut to the half the heads rule never looked at (``record["splits"]``)."""
    seed = record["splits"]["cranfield_seed"]
    return [c.halves(seed)[1] if c.name == "cranfield" else c for c in collections]


def show_heads(record: dict, reported: dict[str, dict[str, Result]], verdicts: dict[str, Difference]) -> None:
    """The heads record as a table (a "chosen" column marks the rule's choice), its
    figure ``fig_mix``, and the glue the rule's prose states. ``reported[collection]``:
    the default head's and the page's trained head's runs on a test set, in that order;
    ``verdicts[collection]``: the first minus the second, per query."""
    display(report.markdown(records.provenance(record)))
    pick = chosen(record)
    rows = [
        [
            r["head"],
            r["dim"],
            f"{r['scifact_dev']:.3f}",
            f"{r['cranfield_dev']:.3f}",
            "yes" if r["holds_cranfield"] else "no",
            "yes" if r is pick else "",
        ]
        for r in record["rows"]
    ]
    header = ["head", "dim", "SciFact dev nDCG@10", "Cranfield dev nDCG@10", "Cranfield dev >= zero-shot"]
    best = {"SciFact dev nDCG@10": "max", "Cranfield dev nDCG@10": "max"}
    title = (
        'Development data only. The "384-d from identity, untrained" row is the zero-shot start, alpha = 0.'
    )
    folded = f"the {len(rows)} heads on development data (the figure below draws them)"
    display(report.table([*header, "chosen"], rows, title=title, best=best, collapsed=folded))
    curves = {
        f"{dim}-d": [(a, r["scifact_dev"], r["cranfield_dev"]) for a, r in mixing_curve(record, dim, init)]
        for dim, init in ((384, "identity"), (128, "pca"))
    }
    start, trained384 = (mixing_curve(record, 384, "identity")[i][1] for i in (0, -1))
    fig = plots.mixing_curves(
        curves,
        (start["scifact_dev"], start["cranfield_dev"]),
        (pick["mix"], pick["scifact_dev"], pick["cranfield_dev"]),
    )
    report.glue_figure("fig_mix", fig)
    default_card = card(DEFAULT) or {"data": {"dev_query_ids": []}}
    values = {
        "heldout_train_queries": len(default_card["data"]["dev_query_ids"]),
        "zeroshot_scifact_dev": start["scifact_dev"],
        "zeroshot_cranfield_dev": start["cranfield_dev"],
        "trained384_scifact_dev": trained384["scifact_dev"],
        "trained384_cranfield_dev": trained384["cranfield_dev"],
        "chosen_scifact_dev": pick["scifact_dev"],
        "chosen_cranfield_dev": pick["cranfield_dev"],
        "chosen_mix": pick["mix"],
        "heads_tried": len(record["rows"]),
        "heads_holding": sum(r["holds_cranfield"] for r in record["rows"]),
    }
    for name, runs in reported.items():
        default, trained = runs.values()
        values |= {
            f"{name}_default_test": default.metrics["nDCG@10"],
            f"{name}_trained_test": trained.metrics["nDCG@10"],
            f"{name}_default_vs_trained": f"{verdicts[name]:.3f}",
            f"{name}_test_queries": default.n_queries,
        }
    report.glue_all(values)


def show_variants(record: dict) -> None:
    """The what-trains variants of the thinking record as a folded table, and the glue
    on the top layer against the head alone (both trained without masks)."""
    display(report.markdown(records.provenance(record)))
    names = record["collections"]
    rows = [
        [
            v["variant"],
            record["device"],
            f"{v['trainable_parameters']:,}",
            f"{v['train_seconds'] / 60:.1f}",
            f"{v['peak_memory_mb'] / 1024:.1f}",
            *(f"{v[c]['sweep'][str(v['trained_masks'])]:.3f}" for c in names),
        ]
        for v in record["rows"]
    ]
    header = ["variant", "measured on", "trained weights", "training (min)", "peak memory (GiB)"]
    display(
        report.table(
            [*header, *(f"{c} nDCG@10" for c in names)],
            rows,
            best={f"{c} nDCG@10": "max" for c in names},
            collapsed="the four variants: what trains, with and without [MASK] padding",
        )
    )
    top, head = (
        next(v for v in record["rows"] if v["trains"] == t and not v["trained_masks"])
        for t in ("top", "head")
    )
    values = {
        "top_minutes": top["train_seconds"] / 60,
        "top_peak_gib": top["peak_memory_mb"] / 1024,
        "top_over_head_time": top["train_seconds"] / head["train_seconds"],
    }
    for c in names:
        values |= {f"top_{c}": top[c]["sweep"]["0"], f"head_{c}": head[c]["sweep"]["0"]}
    report.glue_all(values)
