"""Train the patch encoder by distillation from the text encoder.

For every page of a corpus the text encoder (``lateint-minilm``) has already given each
word piece a vector. A patch's target is the mean of the vectors of the word pieces
whose characters it holds, weighted by how many it holds, re-normalized; the patch
encoder (which sees only pixels) is trained to point where its target points (loss:
1 - cosine). Punctuation the text index skips, and patches with no characters, add
nothing to the loss.

Only corpus text is used: no query, no judgment. The pages are the ones retrieval later
searches (as an index is built from the corpus it serves); a held-out slice of pages
measures how well it does on pages it never saw, and Cranfield's pages are never seen.

Run ``python -m lateint.train_patches`` (``make train-patches``): deterministic on CPU
for a given torch build and thread count; writes weights and a card next to the text
head in ``lateint/heads/lateint-patches``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import data, maxsim, metrics
from .checkpoints import load_encoder
from .encoder import Encoder
from .pages import Page, PageConfig, patch_coverage, render_all
from .patch_encoder import (
    SHIPPED,
    PatchEncoder,
    PatchEncoderConfig,
    encode_pages,
    line_strips,
    load_patch_encoder,
    n_parameters,
    save,
)


@dataclass(frozen=True)
class PatchTrainConfig:
    seed: int = 20241127
    collection: str = "scifact"  # whose corpus pages it learns from
    max_docs: int = 0  # 0: every document
    dev_docs: int = 200  # pages held out to measure cosine on unseen pages
    epochs: int = 12
    batch_lines: int = 64
    lr: float = 3e-3
    out: str = str(SHIPPED)


@dataclass
class Targets:
    """Line strips and what each of their patches should point at."""

    strips: torch.Tensor  # (n_lines, patch, width) float in [0, 1]
    vectors: torch.Tensor  # (n_lines, columns, dim) unit vectors (zero where no target)
    weight: torch.Tensor  # (n_lines, columns) bool: which patches have a target


def page_texts(encoder: Encoder, texts: list[str]) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """Each document cut to what the text encoder reads (``doc_maxlen``), with the
    character span of each of its word pieces: pages show the same text the text
    index holds."""
    room = encoder.config.doc_maxlen - len(encoder._prefix(encoder.config.doc_marker)) - 1
    spans = encoder.tokenizer(
        list(texts), add_special_tokens=False, return_offsets_mapping=True, verbose=False
    )["offset_mapping"]
    spans = [[tuple(s) for s in doc[:room]] for doc in spans]
    return [t[: s[-1][1]] for t, s in zip(texts, spans)], spans


def distillation_targets(
    encoder: Encoder, collection: data.Collection, doc_indices: list[int], config: PageConfig
) -> tuple[list[Page], Targets]:
    """Pages of some documents and their patch targets from the (cached) text encoding."""
    backbone = encoder.backbone_corpus(collection.doc_texts, corpus_key=collection.fingerprint())
    offsets = np.asarray(backbone["offsets"])
    prefix = len(encoder._prefix(encoder.config.doc_marker))
    texts, spans = page_texts(encoder, [collection.doc_texts[i] for i in doc_indices])
    pages = render_all(texts, config)
    strips, vectors, weight = [], [], []
    for page, doc, piece_spans in zip(pages, doc_indices, spans):
        first = offsets[doc] + prefix
        ids = torch.from_numpy(np.asarray(backbone["token_ids"][first : first + len(piece_spans)])).long()
        hidden = torch.from_numpy(np.asarray(backbone["hidden"][first : first + len(piece_spans)]))
        counts = torch.from_numpy(patch_coverage(page, piece_spans, config))  # (patches, pieces)
        counts[:, encoder.skiplisted(ids)] = 0  # no target from tokens the text index skips
        target = counts @ encoder.head(hidden)  # (patches, dim)
        strips.append(line_strips(page, config))
        vectors.append(
            torch.nn.functional.normalize(target, dim=-1).view(-1, config.columns, target.shape[1])
        )
        weight.append((counts.sum(1) > 0).view(-1, config.columns))
    return pages, Targets(torch.cat(strips), torch.cat(vectors), torch.cat(weight))


def cosine(model: PatchEncoder, targets: Targets, batch_lines: int = 512) -> float:
    """Mean cosine between patch vectors and their targets, over patches with one."""
    model.eval()
    total, n = 0.0, 0
    with torch.inference_mode():
        for s in range(0, len(targets.strips), batch_lines):
            out = model(targets.strips[s : s + batch_lines])
            w = targets.weight[s : s + batch_lines]
            total += float((out * targets.vectors[s : s + batch_lines]).sum(-1)[w].sum())
            n += int(w.sum())
    return total / max(n, 1)


def fit(model: PatchEncoder, train: Targets, dev: Targets, config: PatchTrainConfig) -> list[dict]:
    """Adam with a cosine schedule over ``epochs``; returns per-epoch loss and dev cosine."""
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    steps = config.epochs * ((len(train.strips) + config.batch_lines - 1) // config.batch_lines)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(steps, 1))
    history = [{"epoch": 0, "loss": None, "dev_cosine": cosine(model, dev)}]
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train.strips), generator=generator)
        losses = []
        batches = order.split(config.batch_lines)
        for idx in tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch"):
            out = model(train.strips[idx])  # (b, columns, dim)
            w = train.weight[idx]
            loss = 1 - (out * train.vectors[idx]).sum(-1)[w].mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "dev_cosine": cosine(model, dev)})
        print(history[-1], flush=True)
    return history


def train(config: PatchTrainConfig = PatchTrainConfig(), model_config: PatchEncoderConfig | None = None):
    """Train and save a patch encoder; returns (model, card)."""
    started = time.perf_counter()
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    encoder = load_encoder("lateint-minilm")
    collection = data.load(config.collection)
    n = len(collection.doc_ids) if config.max_docs <= 0 else min(config.max_docs, len(collection.doc_ids))
    order = list(range(len(collection.doc_ids)))
    random.Random(config.seed).shuffle(order)
    order = order[:n]
    n_dev = min(config.dev_docs, n // 5)
    dev_docs, train_docs = sorted(order[:n_dev]), sorted(order[n_dev:])
    model_config = model_config or PatchEncoderConfig()
    _, train_targets = distillation_targets(encoder, collection, train_docs, model_config.page)
    _, dev_targets = distillation_targets(encoder, collection, dev_docs, model_config.page)
    model = PatchEncoder(model_config)
    history = fit(model, train_targets, dev_targets, config)
    card = {
        "model": "lateint-patches",
        "teacher": encoder.name,
        "parameters": n_parameters(model),
        "data": {
            "collection": config.collection,
            "train_pages": len(train_docs),
            "dev_pages": len(dev_docs),
            "train_lines": len(train_targets.strips),
            "never_used": "queries and judgments of every collection",
        },
        "train_config": asdict(config),
        "history": history,
        "seconds": round(time.perf_counter() - started, 1),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "command": "python -m lateint.train_patches",
    }
    save(model, Path(config.out), card)
    return model, card


def evaluate(model: PatchEncoder, encoder: Encoder, name: str, progress: bool | None = None) -> dict:
    """Retrieval by patches: the teacher's (``encoder``) query vectors against every page
    of the collection ``name``, drawn and encoded, exhaustive MaxSim over its test queries."""
    collection = data.load(name)
    texts, _ = page_texts(encoder, collection.doc_texts)
    drawn = render_all(texts, model.config.page)
    D, D_mask = encode_pages(model, drawn, progress=progress).padded()
    Q, Q_mask = encoder.encode_queries(collection.query_texts)
    scores, indices = maxsim.search(Q, D, D_mask, 100, Q_mask)
    measured = metrics.means(
        metrics.per_query_topk(collection.query_ids, collection.doc_ids, scores, indices, collection.qrels)
    )
    return {"queries": len(collection.query_ids), **{k: round(v, 4) for k, v in measured.items()}}


def evaluate_card(folder: Path = SHIPPED, names: tuple[str, ...] = ("scifact", "cranfield")) -> dict:
    """Write the test evaluation of the patch encoder in ``folder`` into its card."""
    path = Path(folder) / "card.json"
    card = json.loads(path.read_text())
    model, teacher = load_patch_encoder(folder), load_encoder("lateint-minilm")
    card["evaluation"] = {
        "test": {name: evaluate(model, teacher, name) for name in names if data.available(name)},
        "how": "text queries encoded by lateint-minilm against every corpus page drawn and encoded by "
        "patches; exhaustive MaxSim; nDCG@10, R@100, MRR@10 (ir-measures). The trained pages are "
        "SciFact's own corpus (no queries, no judgments); Cranfield's pages were never seen.",
    }
    path.write_text(json.dumps(card, indent=1) + "\n")
    return card["evaluation"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lateint.train_patches", description=__doc__.splitlines()[0]
    )
    for name, value in asdict(PatchTrainConfig()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="evaluate the encoder in --out and write it into its card",
    )
    args = vars(parser.parse_args(argv))
    if args.pop("evaluate_only"):
        print(json.dumps(evaluate_card(Path(args["out"]))))
        return 0
    config = PatchTrainConfig(**args)
    _, card = train(config)
    print({k: card[k] for k in ("parameters", "seconds")}, card["history"][-1])
    print(json.dumps(evaluate_card(Path(config.out))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
