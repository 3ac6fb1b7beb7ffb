import pytest
import torch

from lateint import load_encoder
from lateint.checkpoints import CheckpointError


def test_query_markers_and_mask_padding(colbert_style):
    tok = colbert_style.tokenize_queries(["late interaction"])
    tokens = colbert_style.tokens(tok["input_ids"][0])
    assert tokens[:2] == ["[CLS]", "[unused0]"]
    assert tokens[2:5] == ["late", "interaction", "[SEP]"]
    assert tokens[5:] == ["[MASK]"] * 7 and len(tokens) == 12
    assert tok["attention_mask"].all() and tok["Q_mask"].all()  # pads are attended and score


def test_masks_can_be_left_unattended(colbert_style):
    tok = colbert_style.with_config(attend_to_mask=False).tokenize_queries(["late interaction"])
    assert tok["attention_mask"][0].tolist() == [1] * 5 + [0] * 7


def test_long_query_is_truncated_and_reported(colbert_style):
    long = " ".join(["word"] * 40)
    tok = colbert_style.tokenize_queries([long])
    assert tok["truncated"] == 1 and tok["input_ids"].shape == (1, 12)
    assert colbert_style.tokens(tok["input_ids"][0])[-1] == "[SEP]"
    with pytest.warns(UserWarning, match="1 of 1 queries were longer than query_maxlen=12"):
        colbert_style.encode_queries([long])


def test_document_marker_truncation_and_skiplist(colbert_style):
    text = "Hello, world! " * 20
    tok = colbert_style.tokenize_documents([text, "short one"])
    tokens = colbert_style.tokens(tok["input_ids"][0])
    assert tokens[:2] == ["[CLS]", "[unused1]"] and tokens[-1] == "[SEP]" and len(tokens) == 24
    assert tok["truncated"] == 1
    punct = [t in {",", "!"} for t in tokens]
    assert not tok["D_mask"][0][torch.tensor(punct)].any()  # punctuation dropped
    assert (
        tok["D_mask"][1].sum() == 5 and not tok["D_mask"][1, 5:].any()
    )  # [CLS] [D] short one [SEP], then pads


def test_shapes_and_normalization(colbert_style):
    Q, Q_mask = colbert_style.encode_queries(["what is maxsim", "tokens"])
    D, D_mask = colbert_style.encode_documents(["MaxSim sums the best match per query token.", "Short."])
    assert Q.shape == (2, 12, 16) and Q_mask.all()  # augmented: every [MASK] row scores
    assert D.shape[0] == 2 and D.shape[2] == 16 and D_mask.shape == D.shape[:2]
    torch.testing.assert_close(Q.norm(dim=-1), torch.ones(2, 12))
    torch.testing.assert_close(D[D_mask].norm(dim=-1), torch.ones(int(D_mask.sum())))


def test_mask_vectors_depend_on_the_query(colbert_style):
    Q, _ = colbert_style.encode_queries(["solar wind", "bread dough"])
    assert not torch.allclose(Q[0, -1], Q[1, -1], atol=1e-3)  # a [MASK] vector is contextual


def test_zeroshot_queries_are_unpadded(zeroshot):
    Q, Q_mask = zeroshot.encode_queries(["a b c d e", "a"])
    assert Q.shape[1] == 7  # [CLS] 5 tokens [SEP]
    assert Q_mask.sum(1).tolist() == [7, 3]
    assert Q[1, 3:].abs().sum() == 0  # padded rows are zero vectors


def test_corpus_vectors_match_direct_encoding(colbert_style):
    texts = ["The Moon raises the tides.", "Yeast makes bread rise, slowly."]
    tv = colbert_style.encode_corpus(texts)
    D, D_mask = colbert_style.encode_documents(texts)
    D2, D2_mask = tv.padded()
    assert torch.equal(D_mask.sum(1), D2_mask.sum(1))
    torch.testing.assert_close(D2[D2_mask], D[D_mask], atol=2e-3, rtol=0)  # cache stores fp16 states
    again = colbert_style.encode_corpus(texts)  # from the cache
    assert torch.equal(again.vectors, tv.vectors)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ([""], ValueError, "query 0 is empty"),
        (["ok", "   "], ValueError, "query 1 is empty"),
        ("a string", TypeError, "single string"),
        ([None], TypeError, "not str"),
    ],
)
def test_bad_queries(colbert_style, bad, error, message):
    with pytest.raises(error, match=message):
        colbert_style.encode_queries(bad)


def test_empty_document(colbert_style):
    with pytest.raises(ValueError, match="document 1 is empty"):
        colbert_style.encode_documents(["fine", ""])


def test_odd_input(colbert_style):
    Q, _ = colbert_style.encode_queries(["?!...", "Spaß, schön"])
    assert torch.isfinite(Q).all()
    tokens = colbert_style.tokens(colbert_style.tokenize_queries(["schön über Äpfel"])["input_ids"][0])
    # The uncased vocabulary strips accents, then splits what it does not know.
    assert tokens[2:5] == ["sc", "##hon", "uber"] and tokens[5].startswith("ap")


def test_unknown_model_name():
    with pytest.raises(CheckpointError, match="unknown model"):
        load_encoder("no-such-model")


def test_unknown_setting():
    with pytest.raises(TypeError, match="unknown encoder settings"):
        load_encoder("minilm-zeroshot", query_len=3)


def test_exact_number_of_mask_tokens(colbert_style):
    enc = colbert_style.with_config(query_mask_tokens=3)
    tok = enc.tokenize_queries(["neoshare macht spass", "wind"])
    tokens = enc.tokens(tok["input_ids"][0])
    assert tokens[-4:] == ["[SEP]", "[MASK]", "[MASK]", "[MASK]"]
    assert tok["Q_mask"][0].all() and tok["Q_mask"][1].sum() == 1 + 1 + 1 + 1 + 3  # [CLS] [Q] wind [SEP] + 3
    unattended = enc.with_config(attend_to_mask=False).tokenize_queries(["wind"])
    assert unattended["attention_mask"][0].tolist() == [1, 1, 1, 1, 0, 0, 0]
    Q, Q_mask = enc.encode_queries(["neoshare macht spass", "wind"])
    assert Q.shape[1] == len(tokens) and Q[1, 7:].abs().sum() == 0  # row 2 is padded with zero vectors
    assert torch.equal(Q_mask, tok["Q_mask"])


@pytest.mark.parametrize(
    "settings", [{}, {"query_mask_tokens": 3}, {"query_mask_tokens": 3, "attend_to_mask": False}]
)
def test_a_batch_of_mixed_lengths_encodes_each_query_as_alone(colbert_style, settings):
    """Queries are batched by width and cut to each batch's widest: a query's vectors do not
    depend on which other queries share the call, nor on their lengths."""
    enc = colbert_style.with_config(query_augmentation=True, **settings)
    texts = ["wind", "late interaction retrieval with many query tokens", "bread", "why do stars twinkle"]
    Q, Q_mask = enc.encode_queries(texts, batch_size=2)
    for i, text in enumerate(texts):
        q, q_mask = enc.encode_queries([text])
        width = q.shape[1]
        assert torch.equal(Q_mask[i, :width], q_mask[0]) and not Q_mask[i, width:].any()
        torch.testing.assert_close(Q[i, :width], q[0], atol=1e-5, rtol=0)
        assert Q[i, width:].abs().sum() == 0
