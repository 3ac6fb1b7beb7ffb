"""The token explorer: type a query, see its top documents by MaxSim, and for one of
them the heatmap of query tokens against document tokens and the words that matched.

One view (``web/explorer.js``, an anywidget) is fed two ways:

- in Jupyter, by the kernel: ``Explorer`` encodes with the chapter's encoder and scores
  the whole collection (``maxsim_packed``);
- on the static page, by the reader's browser: ``web/page.js`` runs the same encoder
  exported to ONNX (int8) in onnxruntime-web, on a slice of the collection whose
  vectors ship as the book's int8 codes. ``write_page_assets`` writes what it loads.

Left out: anything not about one query and its ranking (the chapters draw the rest).
"""

from __future__ import annotations

import html
import json
import shutil
import warnings
from pathlib import Path

import anywidget
import numpy as np
import torch
import traitlets

from ..compress import compress
from ..maxsim import maxsim_packed
from ..vectors import TokenVectors
from ..workspace import Workspace

WEB = Path(__file__).parent / "web"
SITE_BUDGET = 64_000_000  # bytes the explorer may add to the site, runtime included
TOP_K = 10


class Explorer(anywidget.AnyWidget):
    """The explorer fed by the kernel: the query the reader types is encoded here and
    scored against every document of the collection. ``page`` is the HTML a static page
    shows instead (``page_html``): the same view, fed by the browser."""

    _esm = WEB / "explorer.js"
    query = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Int(0).tag(sync=True)
    state = traitlets.Dict({}).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)

    def __init__(self, encoder, collection, vectors: TokenVectors, query: str, page: str = ""):
        super().__init__()
        self._encoder, self._vectors, self._page = encoder, vectors, page
        self._ids, self._titles = collection.doc_ids, _titles(collection)
        self._scored: tuple | None = None  # (query, its vectors, its token ids, scores)
        self._workspace = Workspace()  # each query's similarity matrix, kept for the next
        self._about = f"{collection.name}: all {vectors.n_docs:,} documents, scored by this kernel"
        self.note = self._about
        self.observe(self._refresh, names=["query", "selected"])
        self.query = query

    def _refresh(self, change) -> None:
        if not self.query.strip():
            return
        if self._scored is None or self._scored[0] != self.query:
            try:
                Q, Q_mask = self._encoder.encode_queries([self.query])
            except ValueError as e:  # e.g. only characters the vocabulary drops
                self.note = str(e)
                return
            self.note = self._about
            (ids,) = page_query_ids(self._encoder, [self.query])
            q = Q[0][Q_mask[0]]
            scores = maxsim_packed(q, self._vectors.vectors, self._vectors.offsets, self._workspace)
            self._scored = (self.query, q, ids, scores)
            if change["name"] == "query" and self.selected != 0:
                self.selected = 0  # a new query opens on its first document (and redraws)
                return
        self.state = self._state()

    def _state(self) -> dict:
        """What the view draws: the query's tokens, the top documents, and for the
        selected one its tokens and the query-by-document similarity matrix."""
        query, q, ids, scores = self._scored
        top = torch.topk(scores, min(TOP_K, len(scores)))
        selected = min(max(self.selected, 0), len(top.indices) - 1)
        doc = int(top.indices[selected])
        rows = slice(int(self._vectors.offsets[doc]), int(self._vectors.offsets[doc + 1]))
        tokens = self._encoder.tokenizer.convert_ids_to_tokens
        return {
            "query": query,
            "query_tokens": tokens(ids),
            "results": [
                {"id": self._ids[i], "title": self._titles[i], "score": round(float(s), 4)}
                for s, i in zip(top.values.tolist(), top.indices.tolist())
            ],
            "selected": selected,
            "doc_tokens": tokens(self._vectors.token_ids[rows].tolist()),
            "sim": (q @ self._vectors.vectors[rows].T).round(decimals=3).tolist(),
        }

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if self._page:
            data["text/html"] = self._page
        return bundle


def _titles(collection) -> list[str]:
    titles = collection.doc_titles or [""] * len(collection.doc_ids)
    return [t or text[:80] for t, text in zip(titles, collection.doc_texts)]


# -- the static page -------------------------------------------------------------------


def page_slice(
    collection, vectors: TokenVectors, titles: list[str], data_budget: int, seed: int = 0
) -> np.ndarray:
    """Documents for the page, in collection order: every judged document of the
    collection's queries, then others drawn at random (``seed``) while the data fit
    ``data_budget`` bytes (int8 codes, token ids and ``titles``)."""
    index = {d: i for i, d in enumerate(collection.doc_ids)}
    judged = sorted({index[d] for judged in collection.qrels.values() for d in judged if d in index})
    others = np.random.default_rng(seed).permutation(np.setdiff1d(np.arange(len(collection.doc_ids)), judged))
    cost = (vectors.lengths.numpy() * (vectors.dim + 2) + 4).astype(np.int64)  # codes, a uint16 id, an offset
    cost += np.array([len(t.encode()) + len(d) + 16 for t, d in zip(titles, collection.doc_ids)])
    chosen = list(judged)
    used = int(cost[judged].sum())
    if used > data_budget:
        raise ValueError(
            f"the judged documents alone take {used:,} bytes, over the budget of {data_budget:,}"
        )
    for i in others:
        if used + cost[i] > data_budget:
            break
        chosen.append(int(i))
        used += int(cost[i])
    return np.array(sorted(chosen))


def _maxsim_graph(dim: int):
    """MaxSim's one heavy step as an ONNX graph: ``sim = q @ float(codes).T``, shape
    (query_len, n_tokens). The int8 scales multiply the query first, so the codes are
    never decoded; the page takes each document's row maxima and sums them."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["codes"], ["codes_float"], to=TensorProto.FLOAT),
            helper.make_node("Gemm", ["q", "codes_float"], ["sim"], transB=1),
        ],
        "maxsim",
        [
            helper.make_tensor_value_info("q", TensorProto.FLOAT, ["query_len", dim]),
            helper.make_tensor_value_info("codes", TensorProto.INT8, ["n_tokens", dim]),
        ],
        [helper.make_tensor_value_info("sim", TensorProto.FLOAT, ["query_len", "n_tokens"])],
    )
    # IR version 8 goes with opset 17; onnx itself would stamp its newest, which older
    # runtimes (onnxruntime-web among them) refuse
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def write_page_assets(
    encoder, collection, vectors: TokenVectors, folder: str | Path, budget: int = SITE_BUDGET
) -> dict:
    """Write what the in-page explorer loads into ``folder``: the view and page scripts,
    the encoder as int8 ONNX, the tokenizer, the MaxSim graph, and a slice of the
    collection as int8 codes. onnxruntime-web, in ``folder/ort`` (``make book`` puts it
    there), counts toward ``budget``. Returns the manifest the page reads, with sizes."""
    import onnx

    from ..export import int8_onnx

    folder = Path(folder)
    runtime_bytes = sum(f.stat().st_size for f in (folder / "ort").glob("*") if f.is_file())
    if not runtime_bytes:
        warnings.warn(
            f"no onnxruntime-web in {folder / 'ort'} (make book puts it there): "
            "the static page's explorer will not load",
            stacklevel=2,
        )
    c = encoder.config
    if c.query_augmentation and (c.query_mask_tokens is not None or not c.attend_to_mask):
        raise ValueError(
            "the page pads queries with [MASK] to query_maxlen and attends to them; "
            f"{encoder.name} is set otherwise"
        )
    data = folder / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    for script in ("explorer.js", "page.js", "wordpiece.js"):
        shutil.copyfile(WEB / script, folder / script)
    int8_onnx(encoder, data / "encoder.onnx")
    (data / "tokenizer.json").write_text(encoder.tokenizer.backend_tokenizer.to_str())  # its own vocabulary
    onnx.save(_maxsim_graph(vectors.dim), str(data / "maxsim.onnx"))

    fixed = runtime_bytes + _bytes(folder)
    titles = _titles(collection)
    docs = page_slice(collection, vectors, titles, budget - fixed - 100_000)  # 100 kB for the manifest
    part = vectors.select(docs.tolist())
    int8 = compress(part.vectors, "int8")
    int8.codes.tofile(data / "codes.bin")
    if len(encoder.tokenizer) > 1 << 16:
        raise ValueError(f"token ids are stored as uint16; {encoder.name} has {len(encoder.tokenizer):,}")
    part.token_ids.numpy().astype(np.uint16).tofile(data / "tokens.bin")
    part.offsets.numpy().astype(np.int32).tofile(data / "offsets.bin")
    (data / "docs.json").write_text(
        json.dumps(
            {"ids": [collection.doc_ids[i] for i in docs], "titles": [titles[i] for i in docs]},
            ensure_ascii=False,
        )
    )
    tok = encoder.tokenizer
    prefix = encoder._prefix(c.query_marker)  # [CLS], then the query marker if any
    manifest = {
        "model": encoder.name,
        "collection": collection.name,
        "n_docs": len(docs),
        "of_docs": len(collection.doc_ids),
        "n_tokens": int(part.offsets[-1]),
        "of_tokens": int(vectors.offsets[-1]),
        "k": TOP_K,
        "dim": vectors.dim,
        "scale": int8.scale.astype(float).tolist(),
        "query": {
            "prefix": prefix,
            "sep": tok.sep_token_id,
            "room": c.query_maxlen - len(prefix) - 1,
            "pad_to": c.query_maxlen if c.query_augmentation else 0,
            "pad_id": tok.mask_token_id,
        },
        "runtime_bytes": runtime_bytes,
    }
    (data / "manifest.json").write_text(json.dumps(manifest))
    manifest["site_bytes"] = runtime_bytes + _bytes(folder)
    manifest["model_bytes"] = (data / "encoder.onnx").stat().st_size
    manifest["data_bytes"] = sum(
        (data / f).stat().st_size for f in ("codes.bin", "tokens.bin", "offsets.bin", "docs.json")
    )
    return manifest


def _bytes(folder: Path) -> int:
    """Bytes of the explorer's own files (the runtime in ``ort/`` is counted apart)."""
    return sum(
        f.stat().st_size
        for f in folder.rglob("*")
        if f.is_file() and "ort" not in f.relative_to(folder).parts
    )


def page_rankings(
    folder: str | Path, query_ids: list[list[int]], k: int = TOP_K
) -> list[list[tuple[int, float]]]:
    """What the page computes, computed here with onnxruntime: per query (token ids as
    the page builds them), the top ``k`` (slice position, score)."""
    import onnxruntime as ort

    data = Path(folder) / "data"
    manifest = json.loads((data / "manifest.json").read_text())
    dim = manifest["dim"]
    session = ort.InferenceSession(str(data / "encoder.onnx"), providers=["CPUExecutionProvider"])
    codes = torch.from_numpy(
        np.fromfile(data / "codes.bin", dtype=np.int8).reshape(-1, dim).astype(np.float32)
    )
    offsets = torch.from_numpy(np.fromfile(data / "offsets.bin", dtype=np.int32).astype(np.int64))
    scale = torch.tensor(manifest["scale"], dtype=torch.float32)
    out, workspace = [], Workspace()  # one similarity buffer for every query
    for ids in query_ids:
        x = np.array([ids], dtype=np.int64)
        q = torch.from_numpy(session.run(None, {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0])
        scores = maxsim_packed(q * scale, codes, offsets, workspace)
        top = torch.topk(scores, min(k, len(scores)))
        out.append(list(zip(top.indices.tolist(), top.values.tolist())))
    return out


def agreement(encoder, collection, vectors: TokenVectors, folder: str | Path) -> dict:
    """What the page's int8 encoder and codes cost against lateint's own fp32 ranking of
    the same slice (torch encoder, fp32 vectors), over every query of ``collection``:
    mean overlap of the two top 10s, the share of queries with the same first document,
    and the largest relative difference of a page score from the fp32 score of the same
    document."""
    data = json.loads((Path(folder) / "data" / "docs.json").read_text())
    index = {d: i for i, d in enumerate(collection.doc_ids)}
    part = vectors.select([index[d] for d in data["ids"]])
    page = page_rankings(folder, page_query_ids(encoder, collection.query_texts))
    Q, Q_mask = encoder.encode_queries(collection.query_texts)
    overlap, same_first, gap, workspace = [], [], 0.0, Workspace()
    for q, q_mask, found in zip(Q, Q_mask, page):
        exact = maxsim_packed(q[q_mask], part.vectors, part.offsets, workspace)
        reference = torch.topk(exact, min(TOP_K, len(exact))).indices.tolist()
        overlap.append(len(set(reference) & {d for d, _ in found}))
        same_first.append(reference[0] == found[0][0])
        gap = max([gap] + [abs(score - float(exact[d])) / abs(float(exact[d])) for d, score in found])
    return {
        "queries": len(page),
        "overlap": float(np.mean(overlap)),
        "same_first": float(np.mean(same_first)),
        "score_gap": gap,
    }


def page_query_ids(encoder, texts: list[str]) -> list[list[int]]:
    """Token ids of each query as the page builds them (every position scores)."""
    tok = encoder.tokenize_queries(texts)
    return [row[mask].tolist() for row, mask in zip(tok["input_ids"], tok["Q_mask"])]


def page_html(base: str, manifest: dict, query: str) -> str:
    """The static page's explorer: a button that loads ``base``/page.js and the rest,
    nothing before it is pressed; it opens on ``query``."""
    mb = manifest["site_bytes"] / 1e6
    return (
        f'<div class="lateint-explorer" data-base="{html.escape(base)}" data-query="{html.escape(query)}">'
        f'<button type="button" class="lateint-open">Open the explorer (loads {mb:.0f} MB; '
        f"{manifest['n_docs']:,} of {manifest['of_docs']:,} documents)</button></div>"
        '<script type="module">'
        "for (const box of document.querySelectorAll('.lateint-explorer:not([data-bound])')) {"
        "  box.dataset.bound = '1';"
        "  box.querySelector('.lateint-open').addEventListener('click', async () => {"
        "    const { open } = await import(new URL('page.js', new URL(box.dataset.base, location.href)));"
        "    open(box, box.dataset.query);"
        "  }, { once: true });"
        "}</script>"
    )
