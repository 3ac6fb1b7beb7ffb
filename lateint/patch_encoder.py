"""A small patch encoder: page images in, one vector per patch out.

ColPali's encoder is a 3B vision-language model; this one has well under a million
parameters and reads one line of patches at a time:

    line strip (patch x width pixels)
      -> convolutions down to one feature vector per patch          (what the glyphs are)
      -> 1-d convolutions along the line, a few patches each side   (which word they spell)
      -> linear to ``dim`` and L2-normalize                         (the text head's space)

It is trained (``lateint.train_patches``) to put each patch where the shipped text
head puts the word pieces the patch covers, so text queries can be scored against
page images with the same MaxSim and index as text documents. Blank patches get no
vector (ColPali keeps them; here they would only add work).

Left out: attention across lines, and any reading of the text (no OCR anywhere).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from .pages import Page, PageConfig, inked
from .vectors import TokenVectors, offsets_from_lengths

SHIPPED = Path(__file__).parent / "heads" / "lateint-patches"


@dataclass(frozen=True)
class PatchEncoderConfig:
    patch: int = 16  # PageConfig.patch of the pages it reads
    columns: int = 32  # PageConfig.columns
    font_size: int = 11  # PageConfig.font_size it was trained on
    channels: int = 256  # feature width of a patch inside the encoder
    context_layers: int = 4  # 1-d convolutions along the line (kernel 5: +-2 patches each)
    dim: int = 128  # output: the text head's dimension

    @property
    def page(self) -> PageConfig:
        return PageConfig(patch=self.patch, columns=self.columns, font_size=self.font_size)


class PatchEncoder(nn.Module):
    """Maps line strips (n, patch, columns * patch) to patch vectors (n, columns, dim)."""

    def __init__(self, config: PatchEncoderConfig = PatchEncoderConfig()):
        super().__init__()
        self.config = config
        c, p = config.channels, config.patch
        # 4x4 pixel cells (a third of a glyph each), mixed with their neighbours,
        # then two 2x2 merges: one feature vector per patch
        self.glyphs = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=4, stride=4),
            nn.GELU(),
            nn.Conv2d(64, 64, kernel_size=3, padding=1),
            nn.GELU(),
            nn.Conv2d(64, 128, kernel_size=2, stride=2),
            nn.GELU(),
            nn.Conv2d(128, c, kernel_size=(p // 8, 2), stride=(p // 8, 2)),
            nn.GELU(),
        )
        self.context = nn.ModuleList(
            nn.Conv1d(c, c, kernel_size=5, padding=2) for _ in range(config.context_layers)
        )
        self.norm = nn.LayerNorm(c)
        self.out = nn.Linear(c, config.dim)

    def forward(self, lines: torch.Tensor) -> torch.Tensor:
        x = self.glyphs(lines.unsqueeze(1))  # (n, c, 1, columns)
        x = x.squeeze(2)  # (n, c, columns)
        for layer in self.context:
            x = x + torch.nn.functional.gelu(layer(x))  # residual: the patch's own glyphs stay in view
        x = self.out(self.norm(x.transpose(1, 2)))  # (n, columns, dim)
        return torch.nn.functional.normalize(x, dim=-1)


def line_strips(page: Page, config: PageConfig) -> torch.Tensor:
    """A page's text lines as float strips in [0, 1], shape (rows, patch, width)."""
    rows = page.image.shape[0] // config.patch
    return torch.tensor(page.image.reshape(rows, config.patch, config.width), dtype=torch.float32) / 255.0


@torch.inference_mode()
def encode_pages(
    model: PatchEncoder, pages: list[Page], batch_lines: int = 512, progress: bool | None = None
) -> TokenVectors:
    """Every page's inked patches as vectors, in reading order.

    Returns TokenVectors whose ``token_ids`` hold each vector's grid index
    (row * columns + column) on its page, where a text corpus would hold word-piece ids.
    """
    config = model.config.page
    model.eval()
    strips = [line_strips(p, config) for p in pages]
    keep = [torch.from_numpy(inked(p, config)) for p in pages]
    all_lines = torch.cat(strips)  # (n_lines, patch, width)
    out = []
    show = progress if progress is not None else len(all_lines) > 4 * batch_lines
    for start in tqdm(
        range(0, len(all_lines), batch_lines), desc="encoding pages", unit="batch", disable=not show
    ):
        out.append(model(all_lines[start : start + batch_lines]).reshape(-1, model.config.dim))
    vectors = torch.cat(out) if out else torch.zeros(0, model.config.dim)
    mask = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.bool)
    grid = torch.cat([torch.arange(len(k)) for k in keep]) if keep else torch.zeros(0, dtype=torch.long)
    lengths = torch.tensor([int(k.sum()) for k in keep])
    return TokenVectors(vectors[mask], offsets_from_lengths(lengths), grid[mask])


def save(model: PatchEncoder, folder: Path, card: dict) -> None:
    """Weights (safetensors, float16), settings and the training card."""
    folder.mkdir(parents=True, exist_ok=True)
    # float16 halves the file; the book's numbers come from these rounded weights
    weights = {k: v.to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(weights, folder / "patches.safetensors")
    (folder / "config.json").write_text(json.dumps(asdict(model.config), indent=1) + "\n")
    (folder / "card.json").write_text(json.dumps(card, indent=1) + "\n")


def load_patch_encoder(folder: str | Path = SHIPPED) -> PatchEncoder:
    """The shipped patch encoder (or one saved by ``lateint.train_patches``)."""
    folder = Path(folder)
    if not (folder / "patches.safetensors").is_file():
        raise FileNotFoundError(
            f"no patch encoder in {folder}: train one with `python -m lateint.train_patches`"
        )
    config = PatchEncoderConfig(**json.loads((folder / "config.json").read_text()))
    model = PatchEncoder(config)
    model.load_state_dict({k: v.float() for k, v in load_file(folder / "patches.safetensors").items()})
    return model.eval()


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
