import hashlib
import json
import shutil
from dataclasses import replace

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


def tiny_config(collection, **settings) -> TrainConfig:
    """Training settings small enough for the built-in collection: batches of 4, 12 title
    pairs, hard negatives from BM25's top 5."""
    return TrainConfig(collection=str(collection), batch_size=4, title_pairs=12, bm25_depth=5, **settings)


def test_training_is_deterministic_and_writes_a_loadable_head(tiny_train_collection, tmp_path):
    # ColBERT's way ([MASK]-padded queries); the chapter's smoke run trains the default way.
    config = tiny_config(
        tiny_train_collection,
        split="train",
        epochs=2,
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


def test_identity_start_mean_score_and_mixing(tiny_train_collection, tmp_path):
    from safetensors.torch import load_file

    from lateint.train import mix, start_weight

    hidden = torch.randn(50, 384).numpy()
    assert torch.equal(start_weight(TrainConfig(dim=384, init="identity"), hidden), torch.eye(384))
    pca = start_weight(TrainConfig(dim=8), hidden)
    torch.testing.assert_close(pca @ pca.T, torch.eye(8), atol=1e-5, rtol=0)  # orthonormal directions
    with pytest.raises(ValueError, match="identity start needs dim = 384"):
        start_weight(TrainConfig(dim=128, init="identity"), hidden)
    with pytest.raises(ValueError, match="init must be"):
        start_weight(TrainConfig(init="random"), hidden)

    a, b = torch.zeros(2, 3), torch.ones(2, 3)
    assert torch.equal(mix(a, b, 0.0), a) and torch.equal(mix(a, b, 1.0), b)
    torch.testing.assert_close(mix(a, b, 0.25), torch.full((2, 3), 0.25))
    with pytest.raises(ValueError, match="alpha"):
        mix(a, b, 1.5)
    with pytest.raises(ValueError, match="shapes differ"):
        mix(a, torch.ones(3, 2), 0.5)

    config = tiny_config(
        tiny_train_collection,
        epochs=1,
        dev_fraction=0.25,
        dim=384,
        init="identity",
        score="mean",
        temperature=0.02,
    )
    card = train(config, out=tmp_path / "mean", progress=False, evaluate_test=False)
    weight = load_file(tmp_path / "mean" / "head.safetensors")["projection.weight"]
    assert card["train_config"]["score"] == "mean" and card["train_config"]["init"] == "identity"
    assert weight.shape == (384, 384)
    assert card["history"][1]["loss"] > 0  # one epoch ran
    # the best dev epoch is kept: the start itself (epoch 0) or the trained weights
    assert torch.equal(weight, torch.eye(384)) == (card["best_epoch"] == 0)
    with pytest.raises(ValueError, match="score must be"):
        train(TrainConfig(score="max"), out=None, progress=False)


def test_without_a_dev_split_the_last_epoch_is_kept(tiny_train_collection):
    config = tiny_config(
        tiny_train_collection,
        epochs=2,
        dev_fraction=0.0,
        dim=384,
        init="identity",
        score="mean",
        temperature=0.02,
    )
    card = train(config, out=None, progress=False, evaluate_test=False)
    assert card["best_epoch"] == 2 and card["data"]["dev_queries"].endswith(" 0 held-out queries")


@pytest.mark.parametrize("trains", ["top", "all"])
def test_trained_layers_over_cached_states_reproduce_the_backbone(trains):
    from lateint.checkpoints import load_encoder
    from lateint.train import Tower, query_states, trained_layers

    encoder = load_encoder("minilm-zeroshot")
    tower = Tower(encoder.backbone, trained_layers(TrainConfig(trains=trains), encoder.backbone)).eval()
    texts = ["what makes bread rise", "yeast", "the role of gluten in the structure of dough"]
    below, Q_mask, attention = query_states(encoder, texts, layer=tower.below)
    last, _, _ = query_states(encoder, texts)
    with torch.no_grad():
        rebuilt = tower(below, attention) * Q_mask.unsqueeze(-1)
    torch.testing.assert_close(rebuilt, last, atol=1e-4, rtol=0)
    assert len(tower.layers) == (1 if trains == "top" else 6)


def test_training_the_top_layer_stores_only_it_and_loads_over_the_backbone(tiny_train_collection, tmp_path):
    from safetensors.torch import load_file

    from lateint.checkpoints import load_encoder, load_head, minilm_id

    config = tiny_config(
        tiny_train_collection,
        epochs=1,
        dev_fraction=0.25,
        trains="top",
        layer_lr=1e-3,
    )
    cards = [train(config, out=tmp_path / f"top{i}", progress=False, evaluate_test=False) for i in range(2)]
    # before training, the copied top layer over cached states of the layer below gives
    # the same dev score as the frozen backbone's last layer (fp16 caches aside)
    head_only = train(replace(config, trains="head", epochs=0), out=None, progress=False, evaluate_test=False)
    assert cards[0]["history"][0]["dev_nDCG@10"] == pytest.approx(
        head_only["history"][0]["dev_nDCG@10"], abs=0.01
    )
    state = [load_file(tmp_path / f"top{i}" / "head.safetensors") for i in range(2)]
    assert all(torch.equal(state[0][k], state[1][k]) for k in state[0]), "two runs differ"
    assert set(state[0]) - {"projection.weight"} and all(
        k.startswith("encoder.layer.5.") for k in state[0] if k != "projection.weight"
    )
    assert cards[0]["trainable_parameters"] == sum(v.numel() for v in state[0].values())
    assert cards[0]["peak_memory_mb"] > 0 and cards[0]["train_config"]["trains"] == "top"

    trained, base = load_encoder(str(tmp_path / "top0")), load_encoder("minilm-zeroshot")
    changed = {
        k
        for k, v in trained.backbone.state_dict().items()
        if not torch.equal(v, base.backbone.state_dict()[k])
    }
    assert bool(changed) == (cards[0]["best_epoch"] > 0)  # the start itself is kept when it wins on dev
    assert changed <= set(state[0])
    assert trained.backbone_id != minilm_id()  # cached backbone states are not shared with the frozen one

    (tmp_path / "bad").mkdir()
    for name in ("config.json", "card.json"):
        shutil.copy(tmp_path / "top0" / name, tmp_path / "bad" / name)
    from safetensors.torch import save_file

    save_file({**state[0], "encoder.layer.9.nope": torch.zeros(2)}, tmp_path / "bad" / "head.safetensors")
    from lateint.checkpoints import CheckpointError

    with pytest.raises(CheckpointError, match="do not fit the backbone"):
        load_head(tmp_path / "bad")
    with pytest.raises(ValueError, match="trains must be"):
        train(TrainConfig(trains="middle"), out=None, progress=False)


def test_mix_saves_the_head_that_far_from_the_start(tiny_train_collection, tmp_path):
    from safetensors.torch import load_file

    config = tiny_config(
        tiny_train_collection,
        epochs=1,
        dev_fraction=0.0,
        dim=384,
        init="identity",
        score="mean",
        temperature=0.02,
    )
    weights = {}
    for alpha in (1.0, 0.25):
        card = train(
            replace(config, mix=alpha), out=tmp_path / str(alpha), progress=False, evaluate_test=False
        )
        weights[alpha] = load_file(tmp_path / str(alpha) / "head.safetensors")["projection.weight"]
    assert not torch.equal(weights[1.0], torch.eye(384))
    torch.testing.assert_close(weights[0.25], 0.75 * torch.eye(384) + 0.25 * weights[1.0])
    assert "0.25 of the way" in card["trained"]
    with pytest.raises(ValueError, match="mix interpolates the head only"):
        train(replace(config, trains="top", mix=0.5), out=None, progress=False)
