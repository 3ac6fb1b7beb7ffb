import os
import warnings

import pytest

from lateint import data


@pytest.fixture(scope="session")
def zeroshot():
    from lateint import load_encoder

    return load_encoder("minilm-zeroshot")


@pytest.fixture(scope="session")
def shipped():
    """The shipped late-interaction head (lateint-minilm)."""
    from lateint import load_encoder

    return load_encoder("lateint-minilm")


@pytest.fixture(scope="session")
def colbert_style(zeroshot):
    """The MiniLM backbone with ColBERT's tokenization and a fixed random projection."""
    import torch

    from lateint.encoder import Encoder, EncoderConfig

    torch.manual_seed(0)
    projection = torch.nn.Linear(zeroshot.backbone.config.hidden_size, 16, bias=False)
    return Encoder(
        zeroshot.backbone,
        zeroshot.tokenizer,
        projection,
        EncoderConfig(dim=16, doc_maxlen=24, query_maxlen=12),
        "test",
        "test-backbone",
    )


@pytest.fixture(scope="session")
def builtin():
    return data.load("builtin")


# a benchmark corpus's backbone pass (SciFact: about 3 minutes) is read from the user's cache
# when there; smaller corpora, the built-in one among them, are always encoded afresh
SHARED_BACKBONE_DOCS = 1000


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests write to a fresh cache, never to the user's. They read from it one thing: the
    backbone's output for benchmark corpora (``cache.py``'s "backbone" entries, keyed by
    backbone, tokenization settings, corpus and CPU kernels), linked in read-only, as
    every chapter and benchmark shares it. Encoding itself is tested uncached, on the
    built-in collection."""
    import json

    from lateint import cache

    user = cache.cache_dir() / "backbone"
    fresh = tmp_path_factory.mktemp("cache")
    (fresh / "backbone").mkdir()
    for entry in user.glob("*/meta.json") if user.is_dir() else []:
        try:
            n_docs = json.loads(entry.read_text()).get("n_docs", 0)
        except (OSError, ValueError):
            continue
        if n_docs >= SHARED_BACKBONE_DOCS:
            (fresh / "backbone" / entry.parent.name).symlink_to(entry.parent, target_is_directory=True)
    old = os.environ.get("LATEINT_CACHE")
    os.environ["LATEINT_CACHE"] = str(fresh)
    yield
    if old is None:
        os.environ.pop("LATEINT_CACHE", None)
    else:
        os.environ["LATEINT_CACHE"] = old


def benchmark(name):
    """Skip unless the benchmark collection is present (``$LATEINT_DATA``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not data.available(name):
            pytest.skip(f"{name} not found: set LATEINT_DATA")
        return data.load(name)
