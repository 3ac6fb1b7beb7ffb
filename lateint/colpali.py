"""ColPali itself, for a reader who has it: real page-image retrievers through lateint.

A ColPali-family model {cite}`faysse2024colpali` (``vidore/colpali-v1.3`` on PaliGemma-3B,
``vidore/colSmol-256M`` on SmolVLM, the ColQwen2 models) embeds a page image as one
128-d vector per image patch, and a query as one vector per token. Those vectors go
into the same ``TokenVectors``, ``maxsim.search`` and ``PlaidIndex`` as text vectors;
nothing else in lateint changes.

Needs the optional ``colpali-engine`` package and the model's weights (a hub id, fetched
once, or a local folder). Neither is part of the book's environment (no hub access on
its build machines), so the book runs its small patch encoder instead and shows this
path; ``load`` says exactly what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .vectors import TokenVectors, offsets_from_lengths, pad

# model class and processor class in colpali_engine.models, by a substring of the name
FAMILIES = (
    ("colsmol", "ColIdefics3", "ColIdefics3Processor"),
    ("idefics3", "ColIdefics3", "ColIdefics3Processor"),
    ("colqwen2.5", "ColQwen2_5", "ColQwen2_5_Processor"),
    ("colqwen2", "ColQwen2", "ColQwen2Processor"),
    ("modernvbert", "ColModernVBert", "ColModernVBertProcessor"),
    ("colpali", "ColPali", "ColPaliProcessor"),
)


class ColPaliUnavailable(RuntimeError):
    """colpali-engine or the model's weights are not at hand."""


def family(name_or_path: str) -> tuple[str, str]:
    """The (model class, processor class) names for a checkpoint name.

    >>> family("vidore/colSmol-256M")
    ('ColIdefics3', 'ColIdefics3Processor')
    >>> family("vidore/colpali-v1.3")
    ('ColPali', 'ColPaliProcessor')
    """
    lowered = name_or_path.lower()
    for key, model_class, processor_class in FAMILIES:
        if key in lowered:
            return model_class, processor_class
    known = ", ".join(k for k, _, _ in FAMILIES)
    raise ValueError(
        f"cannot tell the model family of {name_or_path!r}: its name should contain one of {known}"
    )


def load(name_or_path: str = "vidore/colSmol-256M", device: str = "cpu"):
    """A ColPali-family model and its processor, in float32 on ``device``."""
    model_class, processor_class = family(name_or_path)
    try:
        import colpali_engine.models as models
    except ImportError:
        raise ColPaliUnavailable(
            "colpali-engine is not installed: `pip install 'lateint[colpali]'` (it also needs "
            "torchvision; install the torchvision build that matches torch==2.13.0)"
        ) from None
    try:
        model = getattr(models, model_class).from_pretrained(name_or_path, torch_dtype=torch.float32)
        processor = getattr(models, processor_class).from_pretrained(name_or_path)
    except OSError as error:
        raise ColPaliUnavailable(
            f"could not load {name_or_path!r} (no local folder of that name, and the hub is "
            f"unreachable or does not have it): {error}"
        ) from None
    return model.to(device).eval(), processor


@torch.inference_mode()
def encode_images(model, processor, images: Sequence, batch_size: int = 4) -> TokenVectors:
    """Page images (PIL) -> one vector per image token of each page, in order.

    ``token_ids`` hold each vector's position in the model's image sequence.
    """
    rows = []
    for start in range(0, len(images), batch_size):
        batch = processor.process_images(list(images[start : start + batch_size])).to(model.device)
        embeddings = model(**batch)  # (b, sequence, 128), L2-normalized by the model
        mask = batch["attention_mask"].bool()
        rows += [e[m].float().cpu() for e, m in zip(embeddings, mask)]
    lengths = torch.tensor([len(r) for r in rows])
    positions = torch.cat([torch.arange(n) for n in lengths.tolist()]) if rows else torch.zeros(0)
    vectors = torch.cat(rows) if rows else torch.zeros(0, 128)
    return TokenVectors(vectors, offsets_from_lengths(lengths), positions.long())


@torch.inference_mode()
def encode_queries(
    model, processor, texts: Sequence[str], batch_size: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """Queries -> ``Q`` (n, longest, 128) and ``Q_mask``, for ``maxsim.search``."""
    rows = []
    for start in range(0, len(texts), batch_size):
        batch = processor.process_queries(list(texts[start : start + batch_size])).to(model.device)
        embeddings = model(**batch)
        mask = batch["attention_mask"].bool()
        rows += [e[m].float().cpu() for e, m in zip(embeddings, mask)]
    return pad(rows)
