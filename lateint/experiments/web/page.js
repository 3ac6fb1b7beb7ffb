// The explorer on the static page: the chapter's encoder, exported to ONNX (int8), runs
// in onnxruntime-web on one WASM thread; MaxSim runs against the int8 codes of a slice
// of the collection. It feeds explorer.js, the same view Jupyter shows.
//
// Loaded only when the reader presses the page's button (lateint/experiments/explorer.py).

import * as ort from "./ort/ort.wasm.min.mjs";
import explorer from "./explorer.js";
import { WordPiece } from "./wordpiece.js";

const here = (path) => new URL(path, import.meta.url).href;

async function bytes(name) {
  const response = await fetch(here(`data/${name}`));
  if (!response.ok) throw new Error(`${name}: ${response.status} ${response.statusText}`);
  return response.arrayBuffer();
}

// A model in anywidget's shape (get, set, on, save_changes), computed in the page.
class PageModel {
  constructor(values, compute) {
    this.values = values;
    this.compute = compute;
    this.listeners = {};
    this.changed = new Set();
  }
  get(key) { return this.values[key]; }
  set(key, value) { this.values[key] = value; this.changed.add(key); }
  on(event, callback) { (this.listeners[event] ??= []).push(callback); }
  emit(key) { for (const callback of this.listeners[`change:${key}`] ?? []) callback(); }
  async save_changes() {
    const changed = this.changed;
    this.changed = new Set();
    await this.compute(this, changed);
  }
}

class Searcher {
  static async load() {
    ort.env.wasm.numThreads = 1; // GitHub Pages sends no COOP/COEP headers, so no threads
    ort.env.wasm.wasmPaths = here("ort/");
    const [manifest, tokenizer, docs, codes, tokens, offsets, model, maxsim] = await Promise.all([
      bytes("manifest.json").then((b) => JSON.parse(new TextDecoder().decode(b))),
      bytes("tokenizer.json").then((b) => JSON.parse(new TextDecoder().decode(b))),
      bytes("docs.json").then((b) => JSON.parse(new TextDecoder().decode(b))),
      bytes("codes.bin"), bytes("tokens.bin"), bytes("offsets.bin"), bytes("encoder.onnx"), bytes("maxsim.onnx"),
    ]);
    const options = { executionProviders: ["wasm"] };
    const s = new Searcher();
    Object.assign(s, { manifest, docs, wordpiece: new WordPiece(tokenizer) });
    s.codes = new ort.Tensor("int8", new Int8Array(codes), [manifest.n_tokens, manifest.dim]);
    s.tokens = new Uint16Array(tokens);
    s.offsets = new Int32Array(offsets);
    s.encoder = await ort.InferenceSession.create(model, options);
    s.maxsim = await ort.InferenceSession.create(maxsim, options);
    return s;
  }

  // The query's token ids as the encoder builds them: prefix, word pieces, [SEP], pads.
  queryIds(text) {
    const q = this.manifest.query;
    const pieces = this.wordpiece.encode(text);
    if (pieces.length === 0) throw new Error(`no word piece of "${text}" is in the vocabulary`);
    const ids = [...q.prefix, ...pieces.slice(0, q.room), q.sep];
    while (ids.length < q.pad_to) ids.push(q.pad_id);
    return ids;
  }

  async search(text) {
    const { dim, scale } = this.manifest;
    const ids = this.queryIds(text);
    const n = ids.length;
    const started = performance.now();
    const feeds = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, n]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]),
    };
    const q = (await this.encoder.run(feeds)).vectors.data; // (n, dim), L2-normalized
    const encoded = performance.now();
    // int8 codes decode as codes * scale per dimension; scaling the query instead
    // gives the same dot products without decoding a single document vector
    const scaled = new Float32Array(n * dim);
    for (let i = 0; i < n * dim; i++) scaled[i] = q[i] * scale[i % dim];
    const sim = (await this.maxsim.run({ q: new ort.Tensor("float32", scaled, [n, dim]), codes: this.codes })).sim.data;
    const tokens = this.manifest.n_tokens;
    // MaxSim: per document, each query token's largest similarity, summed
    const scores = new Float32Array(this.offsets.length - 1);
    for (let r = 0; r < n; r++) {
      const row = r * tokens;
      for (let d = 0; d < scores.length; d++) {
        let most = -Infinity;
        for (let t = this.offsets[d]; t < this.offsets[d + 1]; t++) if (sim[row + t] > most) most = sim[row + t];
        scores[d] += most;
      }
    }
    const top = [...scores.keys()].sort((a, b) => scores[b] - scores[a]).slice(0, this.manifest.k);
    return { text, ids, sim, top, scores, encodeMs: encoded - started, totalMs: performance.now() - started };
  }

  state(found, selected) {
    const { text, ids, sim, top, scores } = found;
    const tokens = this.manifest.n_tokens;
    const doc = top[selected];
    const [start, end] = [this.offsets[doc], this.offsets[doc + 1]];
    return {
      query: text,
      query_tokens: ids.map((i) => this.wordpiece.tokens[i]),
      results: top.map((d) => ({ id: this.docs.ids[d], title: this.docs.titles[d], score: scores[d] })),
      selected,
      doc_tokens: Array.from(this.tokens.subarray(start, end), (i) => this.wordpiece.tokens[i]),
      sim: ids.map((_, r) => Array.from(sim.subarray(r * tokens + start, r * tokens + end))),
    };
  }
}

export async function open(box, query = "") {
  const opened = performance.now();
  box.textContent = "Loading the encoder, the runtime and the documents…";
  let searcher;
  try {
    searcher = await Searcher.load();
  } catch (error) {
    box.textContent = `The explorer could not load: ${error.message}`;
    throw error;
  }
  const m = searcher.manifest;
  const about = `${m.model} in your browser (onnxruntime-web, int8), against ${m.n_docs.toLocaleString("en")} of the collection's ${m.of_docs.toLocaleString("en")} documents (${m.collection})`;
  let found = null;
  let first = true;
  let searches = 0;
  const compute = async (model, changed) => {
    if (changed.has("query")) {
      const ticket = ++searches;
      let result;
      try {
        result = await searcher.search(model.get("query"));
      } catch (error) {
        model.values.note = error.message;
        model.emit("note");
        return;
      }
      if (ticket !== searches) return; // a newer query was typed meanwhile
      found = result;
      model.values.selected = 0;
    }
    if (!found) return;
    const took = first ? `First result ${((performance.now() - opened) / 1000).toFixed(1)} s after opening; this` : "This";
    box.dataset.queryMs = found.totalMs.toFixed(1);
    if (first) box.dataset.firstResultMs = (performance.now() - opened).toFixed(0);
    first = false;
    model.values.note = `${about}. ${took} query: ${found.totalMs.toFixed(0)} ms (encoding ${found.encodeMs.toFixed(0)} ms).`;
    model.values.state = searcher.state(found, model.get("selected"));
    model.emit("note");
    model.emit("state");
  };
  const model = new PageModel({ query, selected: 0, state: {}, note: about }, compute);
  box.textContent = "";
  const view = document.createElement("div");
  box.append(view);
  explorer.render({ model, el: view });
  if (query) {
    model.set("query", query);
    await model.save_changes();
  }
  return model;
}
