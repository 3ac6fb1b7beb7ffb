import hashlib
import json
import shutil

import pytest
import torch

from lateint import data
from lateint.maxsim import maxsim
from lateint.train import TrainConfig, matched_maxsim, train


def test_matched_maxsim_equals_maxsim_and_has_gradients():
    g = torch.Generator().manual_seed(0)
    Q = torch.randn(3, 4, 8, generator=g, requires_grad=True)
    D = torch.randn(5, 6, 8, generator=g)
    D_mask = torch.rand(5, 6, generator=g) > 0.3
    D_mask[:, 0] = True
    scores = matched_maxsim(Q, D, D_mask)
    torch.testing.assert_close(scores, maxsim(Q.detach(), D, D_mask))
    scores.sum().backward()
    assert Q.grad is not None and Q.grad.abs().sum() > 0


@pytest.fixture
def tiny_train_collection(tmp_path):
    """The built-in collection with its judgments as a *train* split."""
    root = tmp_path / "tiny"
    shutil.copytree(data.BUILTIN_PATH, root)
    shutil.copy(root / "qrels" / "test.tsv", root / "qrels" / "train.tsv")
    return root


def test_training_is_deterministic_and_writes_a_loadable_head(tiny_train_collection, tmp_path):
    # ColBERT's way ([MASK]-padded queries); the chapter's smoke run trains the default way.
    config = TrainConfig(
        collection=str(tiny_train_collection),
        split="train",
        epochs=2,
        batch_size=4,
        title_pairs=12,
        bm25_depth=5,
        dev_fraction=0.25,
        query_augmentation=True,
        query_maxlen=32,
    )
    cards = [train(config, out=tmp_path / f"run{i}", progress=False, evaluate_test=False) for i in range(2)]
    digests = [
        hashlib.sha256((tmp_path / f"run{i}" / "head.safetensors").read_bytes()).hexdigest() for i in range(2)
    ]
    assert digests[0] == digests[1], "two runs with the same seed wrote different weights"
    card = json.loads((tmp_path / "run0" / "card.json").read_text())
    assert card["steps"] == cards[0]["steps"] > 0 and len(card["history"]) == 3
    assert card["data"]["never_used"].startswith("SciFact test")

    from lateint.checkpoints import load_head

    enc = load_head(tmp_path / "run0")
    assert enc.dim == 128 and enc.config.query_augmentation
    Q, _ = enc.encode_queries(["what makes bread rise"])
    assert Q.shape == (1, 32, 128)
