"""Chapter 2's explorer: the encoder exported to ONNX, the tokenizer rewritten in
JavaScript, and the static page's explorer against lateint's own ranking on SciFact,
driven in headless Chromium."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from conftest import benchmark

from lateint import evaluate
from lateint.experiments import explorer
from lateint.export import export_onnx, int8_onnx
from lateint.maxsim import maxsim_packed

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tools"))
RUNTIME = ROOT / "_vendor" / "explorer" / "ort"  # make test fetches it (make site-smoke)


def test_the_tokenizer_in_javascript_gives_the_ids_python_gives(tmp_path, shipped, builtin):
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH")
    texts = (
        builtin.query_texts
        + builtin.doc_texts[:200]
        + [
            "Ünïcödé café 東京 naïve — “quotes” … x² 3.5%",
            "\x00control\tchars\u200b and a " + "verylong" * 20,
            "pre-trained (BERT-base) models: 12-layer, 768-hidden",
            "ΟΔΟΣ ΣΙΣΥΦΟΣ İstanbul",  # a final capital sigma, a dotted capital I
        ]
    )
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    script = tmp_path / "run.mjs"
    # the encoder's own tokenizer, as the page gets it
    (tmp_path / "tokenizer.json").write_text(shipped.tokenizer.backend_tokenizer.to_str())
    tokenizer = json.dumps(str(tmp_path / "tokenizer.json"))
    script.write_text(
        f"import {{ WordPiece }} from {json.dumps((explorer.WEB / 'wordpiece.js').as_uri())};\n"
        "import fs from 'fs';\n"
        f"const wp = new WordPiece(JSON.parse(fs.readFileSync({tokenizer})));\n"
        f"const texts = JSON.parse(fs.readFileSync({json.dumps(str(tmp_path / 'texts.json'))}));\n"
        "console.log(JSON.stringify(texts.map((t) => wp.encode(t))));\n"
    )
    got = json.loads(subprocess.run([node, str(script)], capture_output=True, text=True, check=True).stdout)
    want = shipped.tokenizer(texts, add_special_tokens=False)["input_ids"]
    assert [i for i, (g, w) in enumerate(zip(got, want)) if g != w] == []


def test_the_onnx_export_computes_the_encoders_vectors(tmp_path, shipped, builtin):
    texts = builtin.query_texts[:16]
    tok = shipped.tokenize_queries(texts)
    Q, Q_mask = shipped.encode_queries(texts)
    feeds = {"input_ids": tok["input_ids"].numpy(), "attention_mask": tok["attention_mask"].numpy()}
    fp32 = export_onnx(shipped, tmp_path / "fp32.onnx")
    int8 = int8_onnx(shipped, tmp_path / "int8.onnx")  # export, quantize, cache (the page's model)
    assert int8.stat().st_size < fp32.stat().st_size / 3.5
    for path, tolerance in ((fp32, 1e-5), (int8, None)):
        out = ort.InferenceSession(str(path)).run(None, feeds)[0]
        got = torch.from_numpy(out)[Q_mask]
        if tolerance:
            torch.testing.assert_close(got, Q[Q_mask], atol=tolerance, rtol=0)
        else:  # int8 weights: every vector within 0.005 of its direction in cosine
            assert float((got * Q[Q_mask]).sum(-1).min()) > 0.995


def test_the_page_explorer_agrees_with_lateint_on_scifact(tmp_path, shipped):
    """SciFact's first 20 test queries typed into the page: its top 10 against lateint's
    fp32 ranking of the same documents (torch encoder, fp32 vectors, exact MaxSim)."""
    from explorer_check import run_queries

    scifact = benchmark("scifact")
    if not (RUNTIME / "ort-wasm-simd-threaded.wasm").is_file():
        pytest.fail(f"no onnxruntime-web in {RUNTIME}: `make test` fetches it")
    vectors = evaluate.encode_collection(shipped, scifact)
    site = tmp_path / "site"
    shutil.copytree(RUNTIME, site / "explorer" / "ort")
    manifest = explorer.write_page_assets(shipped, scifact, vectors, site / "explorer")
    assert manifest["site_bytes"] <= explorer.SITE_BUDGET
    (site / "index.html").write_text(
        "<!doctype html><html><body>"
        + explorer.page_html("explorer/", manifest, scifact.query_texts[0])
        + "</body></html>"
    )
    queries = scifact.query_texts[:20]
    shown = run_queries(site, "index.html", queries, ROOT / "_build" / "screenshots" / "explorer-page.png")
    assert shown["loaded_before_opening"] == []  # nothing loads until the reader opens it

    ids = json.loads((site / "explorer" / "data" / "docs.json").read_text())["ids"]
    index = {d: i for i, d in enumerate(scifact.doc_ids)}
    part = vectors.select([index[d] for d in ids])
    Q, Q_mask = shipped.encode_queries(queries)
    tok = shipped.tokenize_queries(queries)
    overlap, same_first = [], 0
    for i, page in enumerate(shown["queries"]):
        exact = maxsim_packed(Q[i][Q_mask[i]], part.vectors, part.offsets)
        reference = [ids[j] for j in torch.topk(exact, 10).indices.tolist()]
        overlap.append(len(set(reference) & set(page["ids"])))
        same_first += reference[0] == page["ids"][0]
        # every score the page shows is within 3% of the fp32 score of that document
        fp32 = np.array([float(exact[ids.index(d)]) for d in page["ids"]])
        np.testing.assert_allclose(page["scores"], fp32, rtol=0.03)
        # the heatmap's rows are the query's tokens
        assert page["rows"] == shipped.tokens(tok["input_ids"][i][Q_mask[i]])
    assert np.mean(overlap) >= 9, overlap
    assert same_first >= 19
