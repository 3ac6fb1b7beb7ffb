"""Train a late-interaction head on a frozen all-MiniLM-L6-v2: ``python -m lateint.train``.

all-MiniLM-L6-v2 was trained for one pooled vector per text, never for MaxSim. This
trains what turns it into a ColBERT-style model: a linear projection from its 384-d
token states to ``dim`` (128), the backbone frozen. Because the backbone is frozen,
its token states are computed once (and cached on disk); training then only moves
a 384 x 128 matrix, seconds per epoch on 2 cores.

Objective (ColBERT's): for a batch of queries, MaxSim scores against every query's
positive and one BM25-mined hard negative each (so every other query's documents are
in-batch negatives); cross-entropy over those scores divided by a temperature. Queries
are tokenized exactly as at search time: with ``--query-augmentation true`` padded with
[MASK] to ``query_maxlen`` as ColBERT does; by default not (see ``TrainConfig``).

Training data, none of it a judgment used for evaluation:
- SciFact's *train* split (809 claims with cited abstracts), less a held-out part for
  choosing the epoch (dev);
- self-supervised pairs from the SciFact corpus: a paper's title as the query, its
  abstract as the positive (the title's own tokens are masked out of the positive so
  the pair cannot be solved by copying).
Never SciFact test judgments, never Cranfield (where the head is used zero-shot).

Options beside ColBERT's defaults: ``--score mean`` (the loss on MaxSim averaged over
query tokens, with a temperature such as 0.02), ``--dim 384 --init identity`` (start from
the zero-shot model instead of PCA directions), and :func:`mix` for weight-space
interpolation between start and trained head (``bench/heads.py`` measures them).

Reproducible: fixed seeds and deterministic kernels; on the same machine, torch
version and thread count, a rerun writes byte-identical weights (tested).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import resource
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm
from transformers.masking_utils import create_bidirectional_mask

from . import cache, data, metrics
from .baselines import FastBM25
from .checkpoints import HEADS, load_backbone, minilm_id, minilm_path
from .encoder import Encoder, EncoderConfig
from .evaluate import run_method
from .maxsim import search
from .vectors import length_batches, used_widths


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 20240611
    dim: int = 128  # projection output
    # what trains: "head" (the projection), "top" (the top transformer layer too, over
    # cached states of the layer below) or "all" (every transformer layer over cached
    # embeddings; meant for a GPU). The rest of the backbone stays frozen.
    trains: str = "head"
    layer_lr: float = 2e-5  # for transformer layers ("top", "all"); the head uses ``lr``
    # ColBERT pads queries with [MASK] to 32. Over a *frozen* MiniLM that lowered dev
    # nDCG@10 in our runs, so the shipped head trains and searches without it;
    # --query-augmentation true --query-maxlen 32 trains ColBERT's way.
    query_augmentation: bool = False  # pad queries with [MASK] to query_maxlen; else only truncate there
    query_maxlen: int = 128  # long enough for every SciFact and Cranfield query
    query_mask_tokens: int = 0  # with augmentation: exactly this many [MASK] tokens (0: pad to query_maxlen)
    epochs: int = 5
    batch_size: int = 32  # queries per step; documents per step = 2 x batch_size
    lr: float = 2e-3
    temperature: float = 6.4  # MaxSim scores (sums of ~20-30 cosines) are divided by this before the softmax
    # "sum": the softmax sees MaxSim / temperature; "mean": MaxSim averaged over each
    # query's tokens, / temperature (0.02 is a usual setting for that form)
    score: str = "sum"
    init: str = (
        "pca"  # the head's start: "pca" (top directions of the token states) or "identity" (dim = 384)
    )
    # the saved head lies this far from the start toward the trained weights (WiSE-FT,
    # see ``mix``); 1 saves the trained head itself
    mix: float = 1.0
    bm25_depth: int = 30  # hard negatives are drawn from BM25's top-N non-relevant documents
    # of SciFact train queries, held out for choosing the epoch; 0 trains on all of them
    # and keeps the last epoch
    dev_fraction: float = 0.2
    title_pairs: int = 2000  # self-supervised (title, abstract) pairs; 0 for none
    collection: str = "scifact"  # a name or a BEIR-layout folder
    split: str = "train"  # whose judgments train (never the evaluation split)
    max_queries: int = 0  # smoke runs: train on a subset of this many queries (0 = all)
    max_docs: int = 0  # ... and this many documents


@dataclass
class Examples:
    """What training reads: query texts, their positive documents, and for title pairs how
    many leading document tokens (the title's) to hide from the positive."""

    texts: list[str]
    positives: list[list[int]]  # document indices per query
    title_skip: list[int]
    train_queries: int  # the first this many are judged queries, the rest title pairs
    dev_query_ids: list[str]


def train(
    config: TrainConfig = TrainConfig(),
    out: Path | None = HEADS / "lateint-minilm",
    progress: bool = True,
    evaluate_test: bool = True,
    command: str | None = None,
) -> dict:
    """Train, keep the best dev epoch, write ``head.safetensors``, ``config.json`` and
    ``card.json`` to ``out`` (unless None); return the card. ``command``: how this run
    was started, for the card."""
    if config.score not in ("sum", "mean"):
        raise ValueError(f"score must be 'sum' or 'mean', not {config.score!r}")
    if config.trains not in TRAINS:
        raise ValueError(f"trains must be one of {TRAINS}, not {config.trains!r}")
    if config.mix != 1.0 and config.trains != "head":
        raise ValueError("mix interpolates the head only: use it with trains='head'")
    started = time.perf_counter()
    _seed(config.seed)
    encoder = frozen_encoder(config)
    corpus = data.load(config.collection, split=config.split)
    if config.max_queries or config.max_docs:
        corpus = corpus.subset(
            config.max_queries or len(corpus.query_ids),
            config.max_docs or len(corpus.doc_ids),
            seed=config.seed,
        )
    tower = Tower(encoder.backbone, trained_layers(config, encoder.backbone))
    backbone_docs = encoder.backbone_corpus(
        corpus.doc_texts, corpus.fingerprint(), progress=progress, layer=tower.below
    )
    rng = random.Random(config.seed)
    examples = training_examples(config, corpus, encoder, rng)
    negatives = hard_negatives(corpus, examples, config.bm25_depth)
    projection = torch.nn.Linear(encoder.backbone.config.hidden_size, config.dim, bias=False)
    # the start is read off the last layer's states, whatever the training reads
    last = (
        backbone_docs
        if tower.below == -1
        else encoder.backbone_corpus(corpus.doc_texts, corpus.fingerprint())
    )
    start = start_weight(config, last["hidden"])
    projection.weight.data.copy_(start)
    history, steps, best_epoch = fit(
        config, encoder, corpus, backbone_docs, examples, negatives, projection, tower, rng, progress
    )
    if config.mix != 1.0:
        projection.weight.data.copy_(mix(start, projection.weight.detach(), config.mix))
    head_config = replace(encoder.config, dim=config.dim, mask_punctuation=True)
    card = {
        "model": Path(out).name if out is not None else None,
        **({"command": command} if command else {}),
        **_card(config, corpus, examples, encoder, steps, best_epoch, history, projection, tower),
    }
    card["wall_seconds"] = round(time.perf_counter() - started, 1)
    card["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if evaluate_test:
        backbone = tower.merged_into(encoder.backbone)
        trained = Encoder(
            backbone, encoder.tokenizer, projection, head_config, "trained", tower.backbone_id()
        )
        card["test"] = {
            name: _evaluate(trained, name) for name in ("scifact", "cranfield") if data.available(name)
        }
    if out is not None:
        save_head(projection, head_config, card, Path(out), tower.changed())
    return card


TRAINS = ("head", "top", "all")


def trained_layers(config: TrainConfig, backbone) -> int:
    """How many of the backbone's top transformer layers ``config.trains`` trains."""
    return {"head": 0, "top": 1, "all": backbone.config.num_hidden_layers}[config.trains]


class Tower(torch.nn.Module):
    """Trainable copies of the backbone's top ``n`` transformer layers (none for "head"),
    run over cached states of the layer below them (``below``, transformers' numbering)."""

    def __init__(self, backbone, n: int):
        super().__init__()
        total = backbone.config.num_hidden_layers
        self.first = total - n  # index of the first copied layer
        self.below = -1 if n == 0 else -(n + 1)  # which hidden states feed the copies
        self.layers = torch.nn.ModuleList(
            copy.deepcopy(layer) for layer in backbone.encoder.layer[self.first :]
        )
        self.backbone_config = backbone.config

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(n, len, hidden) states of layer ``below`` -> the last layer's, as the backbone computes them."""
        if not len(self.layers):
            return hidden
        mask = create_bidirectional_mask(
            config=self.backbone_config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        for layer in self.layers:
            hidden = layer(hidden, mask)
        return hidden

    def changed(self) -> dict[str, torch.Tensor]:
        """The copied layers' weights under the backbone's own names (what a checkpoint stores)."""
        return {
            f"encoder.layer.{self.first + i}.{name}": value.detach().contiguous()
            for i, layer in enumerate(self.layers)
            for name, value in layer.state_dict().items()
        }

    def merged_into(self, backbone):
        """A copy of the backbone with the trained layers in place (the backbone itself if none)."""
        if not len(self.layers):
            return backbone
        merged = copy.deepcopy(backbone)
        merged.load_state_dict(self.changed(), strict=False)
        return merged.eval()

    def backbone_id(self) -> str:
        if not len(self.layers):
            return minilm_id()
        return f"{minilm_id()}, layers {self.first}+ trained ({cache.array_key(self._flat().numpy())})"

    def _flat(self) -> torch.Tensor:
        return torch.cat([p.detach().flatten() for p in self.layers.parameters()])


def frozen_encoder(config: TrainConfig) -> Encoder:
    """all-MiniLM-L6-v2 without a head, tokenizing queries as the trained model will."""
    enc_config = EncoderConfig(
        query_maxlen=config.query_maxlen,
        query_augmentation=config.query_augmentation,
        query_mask_tokens=config.query_mask_tokens or None,
        dim=None,
        query_marker=None,
        doc_marker=None,
    )
    backbone, tokenizer = load_backbone(minilm_path())
    return Encoder(backbone, tokenizer, None, enc_config, "minilm-frozen", minilm_id())


def training_examples(
    config: TrainConfig, corpus: data.Collection, encoder: Encoder, rng: random.Random
) -> Examples:
    """Judged queries less a dev part, then ``title_pairs`` (title -> its own abstract)."""
    doc_index = {d: i for i, d in enumerate(corpus.doc_ids)}
    order = list(range(len(corpus.query_ids)))
    rng.shuffle(order)
    n_dev = int(len(order) * config.dev_fraction)
    dev_idx, train_idx = sorted(order[:n_dev]), sorted(order[n_dev:])
    texts = [corpus.query_texts[i] for i in train_idx]
    positives = [[doc_index[d] for d in corpus.qrels[corpus.query_ids[i]]] for i in train_idx]
    title_skip = [0] * len(texts)
    titled = [i for i, t in enumerate(corpus.doc_titles) if t]
    for i in rng.sample(titled, min(config.title_pairs, len(titled))):
        texts.append(corpus.doc_titles[i])
        positives.append([i])
        title_skip.append(len(encoder.tokenizer(corpus.doc_titles[i], add_special_tokens=False)["input_ids"]))
    return Examples(texts, positives, title_skip, len(train_idx), [corpus.query_ids[i] for i in dev_idx])


def hard_negatives(corpus: data.Collection, examples: Examples, depth: int) -> list[list[int]]:
    """Per query, BM25's top ``depth`` documents that are not its positives."""
    _, bm25_top = FastBM25(corpus.doc_texts).search(examples.texts, depth + 5)
    return [
        [int(j) for j in row if j not in set(pos)][:depth] for row, pos in zip(bm25_top, examples.positives)
    ]


def fit(
    config: TrainConfig,
    encoder: Encoder,
    corpus: data.Collection,
    backbone_docs: dict,
    examples: Examples,
    negatives: list[list[int]],
    projection: torch.nn.Linear,
    tower: Tower,
    rng: random.Random,
    progress: bool,
) -> tuple[list[dict], int, int]:
    """Train ``projection`` (and ``tower``'s layers) for ``config.epochs`` epochs and
    leave them at the best dev epoch. ``backbone_docs`` are the states ``tower`` reads.

    Returns the history (loss and dev nDCG@10 per epoch; epoch 0 is before training),
    the steps taken and the best epoch.
    """
    # (n, query_len, hidden), (n, query_len) twice
    q_hidden, q_mask, q_attention = query_states(encoder, examples.texts, layer=tower.below)
    q_lengths = q_mask.sum(1)  # (n,) scoring tokens per query
    q_widths = used_widths(q_mask | q_attention.bool())
    keep = (~encoder.skiplisted(torch.from_numpy(backbone_docs["token_ids"].astype(np.int64)))).numpy()
    optimizer = torch.optim.Adam(
        [{"params": projection.parameters(), "lr": config.lr}]
        + ([{"params": tower.parameters(), "lr": config.layer_lr}] if len(tower.layers) else [])
    )
    dev = _Dev(encoder, corpus, backbone_docs, examples.dev_query_ids, tower)

    def trained() -> dict[str, torch.Tensor]:  # a snapshot of everything that trains
        return {k: v.clone() for part in (projection, tower) for k, v in part.state_dict().items()}

    history = [{"epoch": 0, "loss": None, "dev_nDCG@10": dev.ndcg(projection)}]
    best = (history[0]["dev_nDCG@10"], trained(), 0)
    steps = 0
    for epoch in range(1, config.epochs + 1):
        tower.train()
        perm = torch.randperm(len(examples.texts)).tolist()
        losses = []
        starts = range(0, len(perm) - config.batch_size + 1, config.batch_size)
        for start in tqdm(starts, desc=f"epoch {epoch}", disable=not progress, leave=False):
            batch = perm[start : start + config.batch_size]
            pos = [rng.choice(examples.positives[i]) for i in batch]
            neg = [
                rng.choice(negatives[i]) if negatives[i] else rng.randrange(len(corpus.doc_ids))
                for i in batch
            ]
            skips = [examples.title_skip[i] for i in batch] + [0] * len(batch)
            D_hidden, D_mask, D_attention = _doc_states(keep, backbone_docs, pos + neg, skips)
            width = int(q_widths[batch].max())  # without augmentation, most columns are padding
            Q_hidden = tower(q_hidden[batch, :width], q_attention[batch, :width])
            Q = torch.nn.functional.normalize(projection(Q_hidden), dim=-1) * q_mask[batch, :width, None]
            D_hidden = tower(D_hidden, D_attention)  # (2B, doc_len, hidden)
            D = torch.nn.functional.normalize(projection(D_hidden), dim=-1)  # (2B, doc_len, dim)
            scores = matched_maxsim(Q, D, D_mask)  # (B, 2B)
            if config.score == "mean":
                scores = scores / q_lengths[batch, None]
            scores = scores / config.temperature
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            steps += 1
        tower.eval()
        ndcg = dev.ndcg(projection)
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "dev_nDCG@10": ndcg})
        if progress:
            print(f"epoch {epoch}: loss {np.mean(losses):.4f}, dev nDCG@10 {ndcg:.4f}", flush=True)
        if ndcg > best[0] or not examples.dev_query_ids:  # no dev: the last epoch
            best = (ndcg, trained(), epoch)
    projection.load_state_dict({k: v for k, v in best[1].items() if k in projection.state_dict()})
    tower.load_state_dict({k: v for k, v in best[1].items() if k in tower.state_dict()})
    return history, steps, best[2]


def _card(
    config: TrainConfig,
    corpus: data.Collection,
    examples: Examples,
    encoder: Encoder,
    steps: int,
    best_epoch: int,
    history: list[dict],
    projection: torch.nn.Linear,
    tower: Tower,
) -> dict:
    hidden = encoder.backbone.config.hidden_size
    layers = len(tower.layers)
    return {
        "backbone": minilm_id()
        + (f", layers {tower.first}+ trained, the rest frozen" if layers else ", frozen"),
        "trained": f"projection {hidden} -> {config.dim}"
        + (f" and the top {layers} transformer layer(s)" if layers else "")
        + (
            f"; saved {config.mix:g} of the way from the start to the trained head" if config.mix != 1 else ""
        ),
        "trainable_parameters": sum(p.numel() for part in (projection, tower) for p in part.parameters()),
        "data": {
            "train_queries": f"{corpus.name} {config.split} split, {examples.train_queries} queries",
            "dev_queries": f"{corpus.name} {config.split} split, {len(examples.dev_query_ids)} held-out "
            "queries",
            "dev_query_ids": examples.dev_query_ids,
            "title_pairs": len(examples.texts) - examples.train_queries,
            "hard_negatives": f"BM25 (bm25s) top {config.bm25_depth}, non-relevant",
            "never_used": "SciFact test judgments, Cranfield judgments",
        },
        "train_config": asdict(config),
        "steps": steps,
        "best_epoch": best_epoch,
        "history": history,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def matched_maxsim(Q: torch.Tensor, D: torch.Tensor, D_mask: torch.Tensor) -> torch.Tensor:
    """MaxSim for training: the same values as ``maxsim.maxsim`` (shapes as there), but
    the best document token is found without gradient and only the matched pairs'
    dot products are recomputed with it, so backward touches n_q x q_len x n_docs
    vectors instead of the whole similarity tensor (about 4x faster here)."""
    with torch.no_grad():
        (a, i, dim), (b, j, _) = Q.shape, D.shape
        sim = (Q.reshape(a * i, dim) @ D.reshape(b * j, dim).T).view(a, i, b, j)
        sim.masked_fill_(~D_mask[None, None], float("-inf"))
        best = sim.argmax(dim=3)  # (n_q, q_len, n_d)
    matched = D[torch.arange(D.shape[0])[None, None, :], best]  # (n_q, q_len, n_d, dim)
    return (Q.unsqueeze(2) * matched).sum(-1).sum(1)  # (n_q, n_d)


def save_head(
    projection: torch.nn.Linear,
    config: EncoderConfig,
    card: dict,
    out: Path,
    layers: dict[str, torch.Tensor] | None = None,
) -> None:
    """``layers``: trained backbone tensors under the backbone's names; only what changed
    is stored, and ``checkpoints.load_head`` puts them over the shipped backbone."""
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {"projection.weight": projection.weight.detach().contiguous(), **(layers or {})},
        out / "head.safetensors",
        metadata={"format": "lateint-head-1"},
    )
    (out / "config.json").write_text(json.dumps({"encoder": asdict(config)}, indent=1) + "\n")
    (out / "card.json").write_text(json.dumps(card, indent=1) + "\n")


class _Dev:
    """Exhaustive MaxSim nDCG@10 on held-out queries over the whole corpus."""

    def __init__(
        self,
        encoder: Encoder,
        corpus: data.Collection,
        backbone_docs: dict,
        query_ids: list[str],
        tower: Tower,
    ):
        self.encoder, self.tower = encoder, tower
        self.backbone_docs, self.corpus = backbone_docs, corpus
        texts = [corpus.query_texts[corpus.query_ids.index(q)] for q in query_ids]
        self.query_ids = query_ids
        if texts:  # no dev split: nothing to encode (``ndcg`` says nan)
            self.q_hidden, self.Q_mask, self.q_attention = query_states(encoder, texts, layer=tower.below)
        self.qrels = {q: corpus.qrels[q] for q in query_ids}

    @torch.no_grad()
    def ndcg(self, projection: torch.nn.Linear) -> float:
        if not self.query_ids:
            return float("nan")
        head = Encoder(
            self.encoder.backbone,
            self.encoder.tokenizer,
            projection,
            replace(self.encoder.config, dim=projection.out_features),
            "dev",
            "",
        )
        D, D_mask = head.head_corpus(_through(self.tower, self.backbone_docs)).padded()
        Q = head.head(self.tower(self.q_hidden, self.q_attention)) * self.Q_mask.unsqueeze(-1)
        scores, indices = search(Q, D, D_mask, k=10, Q_mask=self.Q_mask)
        per_query = metrics.per_query_topk(self.query_ids, self.corpus.doc_ids, scores, indices, self.qrels)
        return metrics.means(per_query)["nDCG@10"]


def _evaluate(encoder: Encoder, name: str) -> dict:
    result = run_method("late", data.load(name), encoder, timing_queries=0)
    return {k: round(v, 4) for k, v in result.metrics.items()}


def query_states(
    encoder: Encoder, texts: list[str], batch_size: int = 128, layer: int = -1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Backbone states (of ``layer``) of queries, tokenized as at search time, shape
    (n, query_len, hidden), ``Q_mask`` and ``attention_mask`` (n, query_len).

    Queries go through the backbone in batches of similar length (padding only to each
    batch's longest); positions that neither score nor are attended come back as zeros.
    """
    tok = encoder.tokenize_queries(texts)
    states = torch.zeros(*tok["input_ids"].shape, encoder.backbone.config.hidden_size)
    Q_mask = torch.zeros(tok["input_ids"].shape, dtype=torch.bool)
    attention = torch.zeros(tok["input_ids"].shape, dtype=torch.long)
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))  # by characters: a stable order
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        tok = encoder.tokenize_queries([texts[i] for i in rows])
        hidden = encoder.backbone_states(
            tok["input_ids"], tok["attention_mask"], batch_size, layer
        ).float()  # (b, len, hidden)
        used = (tok["Q_mask"] | tok["attention_mask"].bool()).unsqueeze(-1)
        states[rows, : hidden.shape[1]] = hidden * used
        Q_mask[rows, : hidden.shape[1]] = tok["Q_mask"]
        attention[rows, : hidden.shape[1]] = tok["attention_mask"]
    return states, Q_mask, attention


def _doc_states(
    keep: np.ndarray, backbone_docs: dict, doc_indices: list[int], skip_first: list[int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Backbone states of some documents, padded, the MaxSim mask and the attention mask.

    ``keep`` (n_tokens,) marks tokens not on the skiplist; for title pairs the title's
    tokens right after [CLS] are left out of MaxSim too (but still attended).
    """
    offsets, hidden = backbone_docs["offsets"], backbone_docs["hidden"]
    lengths = [int(offsets[i + 1] - offsets[i]) for i in doc_indices]
    width = max(lengths)
    states = torch.zeros(len(doc_indices), width, hidden.shape[1])
    mask = torch.zeros(len(doc_indices), width, dtype=torch.bool)
    attention = torch.zeros(len(doc_indices), width, dtype=torch.long)
    for row, (i, n, skip) in enumerate(zip(doc_indices, lengths, skip_first)):
        states[row, :n] = torch.from_numpy(hidden[offsets[i] : offsets[i + 1]].astype(np.float32))
        attention[row, :n] = 1
        mask[row, :n] = torch.from_numpy(keep[offsets[i] : offsets[i + 1]])
        mask[row, 1 : 1 + skip] = False
        if not mask[row].any():
            mask[row, 0] = True  # keep [CLS] so the document still has a vector
    return states, mask, attention


@torch.no_grad()
def _through(tower: Tower, backbone_docs: dict, batch_size: int = 32) -> dict:
    """``backbone_docs`` (states of the layer below ``tower``) as the last layer's states."""
    if not len(tower.layers):
        return backbone_docs
    offsets = backbone_docs["offsets"]
    out = np.empty(backbone_docs["hidden"].shape, dtype=np.float16)
    lengths = torch.from_numpy(np.diff(offsets))
    every_token = np.ones(len(out), dtype=bool)  # the MaxSim mask is not used here
    for rows in length_batches(lengths, batch_size, descending=True):
        docs = rows.tolist()
        states, _, attention = _doc_states(every_token, backbone_docs, docs, [0] * len(docs))
        hidden = tower(states, attention)
        for row, i in enumerate(docs):
            out[offsets[i] : offsets[i + 1]] = hidden[row, : lengths[i]].numpy()
    return {**backbone_docs, "hidden": out}


def start_weight(config: TrainConfig, hidden: np.ndarray) -> torch.Tensor:
    """The head before training, (dim, hidden_size): PCA directions or the identity."""
    if config.init == "identity":
        if config.dim != hidden.shape[1]:
            raise ValueError(f"an identity start needs dim = {hidden.shape[1]}, not {config.dim}")
        return torch.eye(config.dim)
    if config.init != "pca":
        raise ValueError(f"init must be 'pca' or 'identity', not {config.init!r}")
    return _pca_init(hidden, config.dim, config.seed)


def mix(start: torch.Tensor, trained: torch.Tensor, alpha: float) -> torch.Tensor:
    """Weight-space interpolation (WiSE-FT, Wortsman et al. 2022): ``alpha`` = 0 is the
    start, 1 the trained head; in between keeps some of what training forgot."""
    if start.shape != trained.shape:
        raise ValueError(f"shapes differ: {tuple(start.shape)} and {tuple(trained.shape)}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must lie in [0, 1], not {alpha}")
    return (1 - alpha) * start + alpha * trained


def _pca_init(hidden: np.ndarray, dim: int, seed: int) -> torch.Tensor:
    """Start from the ``dim`` directions that keep most of the (normalized) token
    vectors' dot products: the top eigenvectors of their second-moment matrix."""
    rows = np.random.default_rng(seed).choice(len(hidden), size=min(len(hidden), 200_000), replace=False)
    x = torch.nn.functional.normalize(torch.from_numpy(hidden[np.sort(rows)].astype(np.float32)), dim=-1)
    eigvals, eigvecs = torch.linalg.eigh(x.T @ x)  # ascending
    return eigvecs[:, -dim:].flip(1).T.contiguous()  # (dim, hidden)


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lateint.train", description=__doc__.splitlines()[0])
    defaults = TrainConfig()
    for name, value in asdict(defaults).items():
        kind = (lambda text: text.lower() in ("1", "true", "yes")) if isinstance(value, bool) else type(value)
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    parser.add_argument(
        "--out",
        type=Path,
        default=HEADS / "lateint-minilm",
        help="folder for head.safetensors, config.json, card.json",
    )
    parser.add_argument(
        "--skip-test", action="store_true", help="do not evaluate on SciFact test and Cranfield afterwards"
    )
    args = vars(parser.parse_args(argv))
    out, skip_test = args.pop("out"), args.pop("skip_test")
    command = "python -m lateint.train " + " ".join(argv if argv is not None else sys.argv[1:])
    card = train(TrainConfig(**args), out=out, evaluate_test=not skip_test, command=command.strip())
    print(json.dumps({k: card[k] for k in ("best_epoch", "steps", "wall_seconds", "test") if k in card}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
