"""The ColBERT-style encoder: text in, one L2-normalized vector per token out.

A query becomes ``[CLS] [Q] tokens [SEP]`` padded with ``[MASK]`` to ``query_maxlen``
(query augmentation: the encoder attends to the pads and every pad yields a vector
that scores). A document becomes ``[CLS] [D] tokens [SEP]`` truncated at
``doc_maxlen``; punctuation tokens can be left out of its vectors (ColBERT's
skiplist). Each token's last hidden state goes through a linear projection to
``dim`` and is L2-normalized.

The backbone's output for a whole corpus is cached on disk (``cache.py``): encoding
is minutes, the projection afterwards milliseconds, so a corpus is encoded once per
backbone and tokenization setting and reused whatever head sits on top.

Left out: loading checkpoints (``checkpoints.py``, which builds an ``Encoder``; this
module knows nothing of files) and training (``train.py``).
"""

from __future__ import annotations

import string
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from . import cache
from .vectors import TokenVectors, length_batches, offsets_from_lengths, segment_ids, used_widths


class TruncationWarning(UserWarning):
    """Texts were longer than ``query_maxlen`` / ``doc_maxlen`` and lost their tail."""


@dataclass(frozen=True)
class EncoderConfig:
    query_maxlen: int = (
        32  # with augmentation, the length queries are [MASK]-padded to; always the truncation length
    )
    doc_maxlen: int = (
        256  # document length cap, special tokens included (all-MiniLM-L6-v2 was trained at 256)
    )
    dim: int | None = 128  # projection output; None keeps the backbone's own vectors
    query_marker: str | None = "[unused0]"  # ColBERT's [Q]; None for no marker
    doc_marker: str | None = "[unused1]"  # ColBERT's [D]; None for no marker
    query_augmentation: bool = True  # pad queries with [MASK] to query_maxlen
    query_mask_tokens: int | None = None  # with augmentation: append exactly this many [MASK]s instead
    attend_to_mask: bool = True  # let the encoder attend to the [MASK] pads
    mask_punctuation: bool = True  # leave punctuation tokens out of document vectors
    normalize: bool = True  # L2-normalize every token vector


class Encoder:
    """Encodes queries and documents into per-token vectors.

    Parameters
    ----------
    backbone : transformers.PreTrainedModel
        A BERT-like model whose ``last_hidden_state`` gives one vector per token.
    tokenizer : transformers.PreTrainedTokenizerBase
        Its WordPiece tokenizer, with [CLS], [SEP], [MASK], [PAD].
    projection : torch.nn.Linear or None
        Maps hidden size to ``config.dim``; None when ``config.dim`` is None.
    config : EncoderConfig
    name : str
        Names the model in figures, tables and cache keys.
    backbone_id : str
        Identifies the backbone's weights in cache keys.
    """

    def __init__(self, backbone, tokenizer, projection, config: EncoderConfig, name: str, backbone_id: str):
        hidden = backbone.config.hidden_size
        if config.dim is None and projection is not None:
            raise ValueError("config.dim is None but a projection was given")
        if projection is not None and (
            projection.in_features != hidden or projection.out_features != config.dim
        ):
            raise ValueError(
                f"projection maps {projection.in_features} -> {projection.out_features}, "
                f"but the backbone's hidden size is {hidden} and config.dim is {config.dim}"
            )
        if config.dim is not None and projection is None:
            raise ValueError(f"config.dim is {config.dim} but no projection was given")
        self.backbone = backbone.eval()
        self.tokenizer = tokenizer
        self.projection = projection
        self.config = config
        self.name = name
        self.backbone_id = backbone_id
        self._skip_ids = _punctuation_ids(tokenizer) if config.mask_punctuation else set()
        for marker in (config.query_marker, config.doc_marker):
            if marker is not None and tokenizer.convert_tokens_to_ids(marker) == tokenizer.unk_token_id:
                raise ValueError(f"marker token {marker!r} is not in the tokenizer's vocabulary")

    def with_config(self, **changes) -> Encoder:
        """The same weights with other tokenization settings (e.g. no query augmentation)."""
        config = replace(self.config, **changes)
        projection = self.projection if config.dim is not None else None
        return Encoder(self.backbone, self.tokenizer, projection, config, self.name, self.backbone_id)

    def fingerprint(self) -> str:
        """Identifies the weights, the settings and the CPU kernels (a cache key for rankings)."""
        head = None if self.projection is None else self.projection.weight.detach().float().numpy()
        return cache.key_for(
            name=self.name,
            backbone=self.backbone_id,
            config=asdict(self.config),
            head=cache.array_key(head),
            cpu=cpu_kernels(),
        )

    @property
    def dim(self) -> int:
        return self.config.dim or self.backbone.config.hidden_size

    # -- tokenization ---------------------------------------------------------

    def tokenize_queries(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids for queries, shape (n, query_len) (see ``encode_queries`` for the width).

        Returns ``input_ids``, ``attention_mask`` (what the encoder attends to) and
        ``Q_mask`` (which positions yield a scoring vector), plus ``truncated``: how
        many queries lost tokens to ``query_maxlen``.
        """
        c = self.config
        ids = self._wordpiece_ids(texts, kind="query")
        prefix = self._prefix(c.query_marker)
        room = c.query_maxlen - len(prefix) - 1
        if room < 1:
            raise ValueError(f"query_maxlen={c.query_maxlen} leaves no room for query tokens")
        truncated = sum(len(x) > room for x in ids)
        rows = [prefix + x[:room] + [self.tokenizer.sep_token_id] for x in ids]
        if c.query_augmentation and c.query_mask_tokens is not None:
            input_ids, real = self._pad(
                [r + [self.tokenizer.mask_token_id] * c.query_mask_tokens for r in rows]
            )
            n_real = torch.tensor([len(r) for r in rows])
            is_mask = real & (torch.arange(input_ids.shape[1])[None, :] >= n_real[:, None])
            attention_mask = (real if c.attend_to_mask else real & ~is_mask).long()
            Q_mask = real
        elif c.query_augmentation:
            mask_id = self.tokenizer.mask_token_id
            input_ids = torch.tensor([r + [mask_id] * (c.query_maxlen - len(r)) for r in rows])
            real = torch.tensor(
                [[1] * len(r) + [0] * (c.query_maxlen - len(r)) for r in rows], dtype=torch.bool
            )
            attention_mask = torch.ones_like(input_ids) if c.attend_to_mask else real.long()
            Q_mask = torch.ones_like(input_ids, dtype=torch.bool)
        else:
            input_ids, real = self._pad(rows)
            attention_mask, Q_mask = real.long(), real
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "Q_mask": Q_mask,
            "truncated": truncated,
        }

    def tokenize_documents(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids for documents, shape (n, longest <= doc_maxlen).

        Returns ``input_ids``, ``attention_mask``, ``D_mask`` (attended and not
        skiplisted) and ``truncated``: how many documents were cut at ``doc_maxlen``.
        """
        ids = self._wordpiece_ids(texts, kind="document")
        prefix = self._prefix(self.config.doc_marker)
        room = self.config.doc_maxlen - len(prefix) - 1
        truncated = sum(len(x) > room for x in ids)
        rows = [prefix + x[:room] + [self.tokenizer.sep_token_id] for x in ids]
        input_ids, real = self._pad(rows)
        return {
            "input_ids": input_ids,
            "attention_mask": real.long(),
            "D_mask": real & ~self.skiplisted(input_ids),
            "truncated": truncated,
        }

    def tokens(self, input_ids: torch.Tensor) -> list[str]:
        """Wordpiece strings for one row of ids (for display)."""
        return self.tokenizer.convert_ids_to_tokens(input_ids.tolist())

    # -- encoding -------------------------------------------------------------

    @torch.inference_mode()
    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        """Query token vectors ``Q`` (n, query_len, dim) and ``Q_mask`` (n, query_len).

        ``query_len`` is ``query_maxlen`` with augmentation (ColBERT); the longest query
        plus ``query_mask_tokens`` when that is set; else the longest query (at most
        ``query_maxlen``). ``Q_mask`` says which rows score; the others are zero vectors.
        """
        tok = self.tokenize_queries(texts)
        _warn_truncated(tok["truncated"], len(texts), "queries", "query_maxlen", self.config.query_maxlen)
        ids, attention, Q_mask = tok["input_ids"], tok["attention_mask"], tok["Q_mask"]
        hidden = torch.zeros(*ids.shape, self.backbone.config.hidden_size)  # (n, len, hidden)
        # similar widths share a batch, cut to its widest row: short queries skip the padding
        widths = used_widths(attention.bool() | Q_mask)
        for rows in length_batches(widths, batch_size):
            w = int(widths[rows].max())
            hidden[rows, :w] = self.backbone_states(ids[rows, :w], attention[rows, :w], batch_size).float()
        return self.head(hidden) * Q_mask.unsqueeze(-1), Q_mask

    @torch.inference_mode()
    def encode_documents(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Document token vectors ``D`` (n, longest, dim) and ``D_mask`` (n, longest).

        Skiplisted punctuation gets no vector at all (as ColBERT stores documents): row
        ``i`` holds document ``i``'s kept tokens in order, then padding (False in ``D_mask``).
        ``tokenize_documents(texts)["D_mask"]`` says which input tokens were kept.
        """
        return self.head_corpus(self.backbone_documents(texts, batch_size, progress)).padded()

    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Projection and normalization of backbone vectors, shape (..., hidden) -> (..., dim)."""
        x = hidden.float()
        if self.projection is not None:
            with torch.no_grad():
                x = self.projection(x)
        if self.config.normalize:
            x = torch.nn.functional.normalize(x, dim=-1)
        return x

    def head_corpus(self, backbone: dict[str, np.ndarray]) -> TokenVectors:
        """Apply the head to cached backbone output and drop skiplisted tokens."""
        hidden = torch.from_numpy(np.asarray(backbone["hidden"]))  # (n_tokens_all, hidden)
        token_ids = torch.from_numpy(np.asarray(backbone["token_ids"])).long()
        offsets = torch.from_numpy(np.asarray(backbone["offsets"])).long()
        keep = ~self.skiplisted(token_ids)
        kept_per_doc = torch.bincount(segment_ids(offsets)[keep], minlength=len(offsets) - 1)
        new_offsets = offsets_from_lengths(kept_per_doc)
        vectors = (
            torch.cat([self.head(chunk) for chunk in hidden[keep].split(65536)])
            if keep.any()
            else torch.zeros(0, self.dim)
        )
        return TokenVectors(vectors, new_offsets, token_ids[keep])

    def encode_corpus(
        self,
        doc_texts: Sequence[str],
        corpus_key: str | None = None,
        batch_size: int = 32,
        progress: bool | None = None,
    ) -> TokenVectors:
        """All documents' token vectors, with the backbone pass cached on disk.

        ``corpus_key`` identifies the texts (e.g. ``Collection.fingerprint()``); when
        None it is computed from the texts.
        """
        return self.head_corpus(self.backbone_corpus(doc_texts, corpus_key, batch_size, progress))

    def backbone_corpus(
        self,
        doc_texts: Sequence[str],
        corpus_key: str | None = None,
        batch_size: int = 32,
        progress: bool | None = None,
        layer: int = -1,
    ) -> dict[str, np.ndarray]:
        """The backbone's output for a corpus (cached): ``hidden`` (n_tokens, hidden) fp16,
        ``token_ids`` (n_tokens,), ``offsets`` (n_docs + 1,). ``layer`` as in
        :meth:`backbone_states` (training the top layer caches the states below it)."""
        if corpus_key is None:
            corpus_key = cache.key_for(texts=list(doc_texts))
        key = cache.key_for(
            backbone=self.backbone_id,
            doc_marker=self.config.doc_marker,
            doc_maxlen=self.config.doc_maxlen,
            corpus=corpus_key,
            cpu=cpu_kernels(),
            **({"layer": layer} if layer != -1 else {}),  # the last layer keeps its old keys
        )
        meta = {
            "backbone": self.backbone_id,
            "n_docs": len(doc_texts),
            "cpu": cpu_kernels(),
            **asdict(self.config),
        }
        compute = lambda: cache.Entry(self.backbone_documents(doc_texts, batch_size, progress, layer), meta)  # noqa: E731
        return cache.load_or_compute("backbone", key, compute).arrays

    # -- building blocks (training and the baselines use them too) -----------

    def backbone_documents(
        self, texts: Sequence[str], batch_size: int = 32, progress: bool | None = None, layer: int = -1
    ) -> dict[str, np.ndarray]:
        """The backbone's output for documents, not cached (``backbone_corpus`` caches it)."""
        tok = self.tokenize_documents(texts)
        _warn_truncated(tok["truncated"], len(texts), "documents", "doc_maxlen", self.config.doc_maxlen)
        lengths = tok["attention_mask"].sum(1)
        pieces: list[torch.Tensor | None] = [None] * len(texts)
        show = progress if progress is not None else len(texts) > 4 * batch_size
        batches = length_batches(
            lengths, batch_size, descending=True
        )  # similar lengths share a batch: less padding
        for idx in tqdm(batches, desc=f"encoding {len(texts)} documents", unit="batch", disable=not show):
            width = int(lengths[idx].max())
            hidden = self.backbone_states(
                tok["input_ids"][idx, :width], tok["attention_mask"][idx, :width], batch_size, layer
            )
            for row, i in enumerate(idx.tolist()):
                pieces[i] = hidden[row, : lengths[i]].to(torch.float16)
        real = tok["attention_mask"].bool()
        return {
            "hidden": torch.cat(pieces).numpy(),
            "token_ids": tok["input_ids"][real].numpy().astype(np.int32),
            "offsets": offsets_from_lengths(lengths.numpy()),
        }

    @torch.inference_mode()
    def backbone_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, batch_size: int = 64, layer: int = -1
    ) -> torch.Tensor:
        """The backbone's hidden states, shape (n, len, hidden), in batches; no head.

        ``layer`` -1 is the last layer's output; -2 the one below it, ..., 0 the
        embeddings (``hidden_states`` in transformers' numbering).
        """
        outs = []
        for i in range(0, len(input_ids), batch_size):
            out = self.backbone(
                input_ids=input_ids[i : i + batch_size],
                attention_mask=attention_mask[i : i + batch_size],
                output_hidden_states=layer != -1,
            )
            outs.append(out.last_hidden_state if layer == -1 else out.hidden_states[layer])
        return torch.cat(outs)  # (n, len, hidden)

    def _wordpiece_ids(self, texts: Sequence[str], kind: str) -> list[list[int]]:
        if isinstance(texts, str):
            raise TypeError(f"expected a list of {kind} texts, got a single string")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"{kind} {i} is {type(text).__name__}, not str")
            if not text.strip():
                raise ValueError(f"{kind} {i} is empty: nothing to encode")
        ids = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        for i, x in enumerate(ids):
            if not x:  # e.g. only characters the vocabulary drops
                raise ValueError(f"{kind} {i} ({texts[i][:40]!r}) has no token in the vocabulary")
        return ids

    def _prefix(self, marker: str | None) -> list[int]:
        prefix = [self.tokenizer.cls_token_id]
        if marker is not None:
            prefix.append(self.tokenizer.convert_tokens_to_ids(marker))
        return prefix

    def _pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(map(len, rows))
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        real = torch.tensor([[True] * len(r) + [False] * (width - len(r)) for r in rows])
        return input_ids, real

    def skiplisted(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Bool, same shape as ``input_ids``: True for punctuation the skiplist drops."""
        if not self._skip_ids:
            return torch.zeros_like(input_ids, dtype=torch.bool)
        return torch.isin(input_ids, torch.tensor(sorted(self._skip_ids)))

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, dim={self.dim}, {self.config})"


def cpu_kernels() -> str:
    """The CPU kernels torch runs (e.g. "AVX512", "AVX2"): they round a few encoder
    values differently, so encodings are cached per kernel set (the Makefile pins AVX2)."""
    return torch.backends.cpu.get_cpu_capability()


def _warn_truncated(n: int, total: int, what: str, setting: str, value: int) -> None:
    if n:
        message = f"{n} of {total} {what} were longer than {setting}={value} and were truncated"
        warnings.warn(message, TruncationWarning, stacklevel=4)


def _punctuation_ids(tokenizer) -> set[int]:
    """Ids of single-character punctuation tokens (ColBERT's skiplist)."""
    ids = set()
    for ch in string.punctuation:
        pieces = tokenizer(ch, add_special_tokens=False)["input_ids"]
        if len(pieces) == 1:
            ids.add(pieces[0])
    return ids
