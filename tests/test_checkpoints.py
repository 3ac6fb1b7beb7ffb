"""Real checkpoint layouts, built tiny and random in a temp folder, load through the same API."""

import json

import pytest
import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel

from lateint.checkpoints import CheckpointError, load_encoder, minilm_path


def tiny_bert(tokenizer):
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    return BertModel(config).eval()


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)


@pytest.fixture
def colbert_folder(tmp_path, tokenizer):
    folder = tmp_path / "colbert-tiny"
    bert = tiny_bert(tokenizer)
    bert.config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    linear = torch.randn(8, 32)
    save_file(
        {**{f"bert.{k}": v.contiguous() for k, v in bert.state_dict().items()}, "linear.weight": linear},
        folder / "model.safetensors",
    )
    meta = {
        "query_maxlen": 10,
        "doc_maxlen": 20,
        "dim": 8,
        "mask_punctuation": True,
        "attend_to_mask_tokens": False,
        "query_token_id": "[unused0]",
        "doc_token_id": "[unused1]",
        "similarity": "cosine",
    }
    (folder / "artifact.metadata").write_text(json.dumps(meta))
    return folder, bert, linear


@pytest.fixture
def pylate_folder(tmp_path, tokenizer):
    folder = tmp_path / "pylate-tiny"
    tok = type(tokenizer).from_pretrained(minilm_path(), local_files_only=True)
    tok.add_tokens(["[Q]", "[D]"], special_tokens=True)
    bert = tiny_bert(tok)
    bert.save_pretrained(folder)
    tok.save_pretrained(folder)
    linear = torch.randn(6, 32)
    (folder / "1_Dense").mkdir()
    save_file({"linear.weight": linear}, folder / "1_Dense" / "model.safetensors")
    (folder / "1_Dense" / "config.json").write_text(
        json.dumps(
            {
                "in_features": 32,
                "out_features": 6,
                "bias": False,
                "activation_function": "torch.nn.modules.linear.Identity",
            }
        )
    )
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"},
            ]
        )
    )
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps(
            {
                "query_prefix": "[Q] ",
                "document_prefix": "[D] ",
                "query_length": 12,
                "document_length": 16,
                "attend_to_expansion_tokens": False,
                "skiplist_words": ["!", ","],
                "do_query_expansion": True,
            }
        )
    )
    return folder, bert, linear, tok


def reference_maxsim(bert, linear, q_ids, q_attention, d_ids, d_keep):
    """Score one query-document pair by hand: backbone, projection, normalize, MaxSim loops."""
    with torch.no_grad():
        q = torch.nn.functional.normalize(
            bert(input_ids=q_ids[None], attention_mask=q_attention[None]).last_hidden_state[0] @ linear.T,
            dim=-1,
        )
        d = torch.nn.functional.normalize(bert(input_ids=d_ids[None]).last_hidden_state[0] @ linear.T, dim=-1)
    d = d[d_keep]
    return sum(max(float(qi @ dj) for dj in d) for qi in q)


def test_colbert_layout(colbert_folder):
    folder, bert, linear = colbert_folder
    enc = load_encoder(str(folder))
    assert (enc.config.query_maxlen, enc.config.doc_maxlen, enc.dim, enc.config.attend_to_mask) == (
        10,
        20,
        8,
        False,
    )
    tok = enc.tokenize_queries(["wind tunnel tests"])
    tokens = enc.tokens(tok["input_ids"][0])
    assert tokens[:2] == ["[CLS]", "[unused0]"] and tokens[-1] == "[MASK]" and len(tokens) == 10
    assert (
        tok["attention_mask"][0].tolist() == [1] * 6 + [0] * 4
    )  # masks not attended, as colbert-ai's default
    torch.testing.assert_close(enc.projection.weight, linear)

    doc = "Lift, drag and wind tunnel tests!"
    Q, _ = enc.encode_queries(["wind tunnel tests"])
    D, D_mask = enc.encode_documents([doc])
    from lateint.maxsim import maxsim

    d_tok = enc.tokenize_documents([doc])
    expected = reference_maxsim(
        bert, linear, tok["input_ids"][0], tok["attention_mask"][0], d_tok["input_ids"][0], d_tok["D_mask"][0]
    )
    assert maxsim(Q, D, D_mask).item() == pytest.approx(
        expected, abs=2e-3
    )  # document states are kept in fp16


def test_pylate_layout(pylate_folder):
    folder, bert, linear, tok_with_prefixes = pylate_folder
    enc = load_encoder(str(folder))
    assert (enc.config.query_maxlen, enc.config.doc_maxlen, enc.dim) == (12, 16, 6)
    assert enc.config.query_marker == "[Q]" and enc.config.doc_marker == "[D]"
    q = enc.tokenize_queries(["wind tunnel"])
    assert enc.tokens(q["input_ids"][0])[:2] == ["[CLS]", "[Q]"] and q["input_ids"].shape == (1, 12)
    d = enc.tokenize_documents(["wind, tunnel!"])
    assert enc.tokens(d["input_ids"][0])[:2] == ["[CLS]", "[D]"]
    expected = reference_maxsim(
        bert, linear, q["input_ids"][0], q["attention_mask"][0], d["input_ids"][0], d["D_mask"][0]
    )
    from lateint.maxsim import maxsim

    Q, _ = enc.encode_queries(["wind tunnel"])
    D, D_mask = enc.encode_documents(["wind, tunnel!"])
    assert maxsim(Q, D, D_mask).item() == pytest.approx(
        expected, abs=2e-3
    )  # document states are kept in fp16


def test_projection_that_does_not_fit_the_backbone(colbert_folder):
    folder, bert, _ = colbert_folder
    state = {f"bert.{k}": v.contiguous() for k, v in bert.state_dict().items()}
    save_file({**state, "linear.weight": torch.randn(8, 48)}, folder / "model.safetensors")
    with pytest.raises(CheckpointError, match="does not fit the backbone's hidden size 32"):
        load_encoder(str(folder))


def test_pickle_weights_are_refused(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "artifact.metadata").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    (folder / "config.json").write_text("{}")
    with pytest.raises(CheckpointError):
        load_encoder(str(folder))


def test_folder_of_another_kind(tmp_path):
    with pytest.raises(CheckpointError, match="neither a colbert-ai checkpoint"):
        load_encoder(str(tmp_path))


def test_unreachable_hub_id_says_what_was_looked_for(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CheckpointError, match="could not get 'colbert-ir/colbertv2.0'"):
        load_encoder("colbert-ir/colbertv2.0")
