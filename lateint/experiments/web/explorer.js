// The token explorer's view. One file draws it everywhere: in Jupyter as an anywidget
// whose model the kernel feeds (lateint/experiments/explorer.py), and on the static page,
// where page.js feeds the same model from the encoder running in the browser.
//
// The model holds `query` and `selected` (set here) and `state` (set by whoever scores):
// { query, query_tokens, results: [{id, title, score}], selected, doc_tokens, sim }, where
// sim[i][j] is query token i's cosine with the selected document's token j.

const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];
const MAX_COLUMNS = 30;

function color(value, low) {
  const t = Math.min(1, Math.max(0, (value - low) / (1 - low)));
  return VIRIDIS[Math.round(t * (VIRIDIS.length - 1))];
}

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// Each query token's best document token: MaxSim's terms.
function best(sim) {
  return sim.map((row) => row.reduce((b, v, j) => (v > row[b] ? j : b), 0));
}

// As chapter 2's heatmap: every matched column with one neighbour each side, or only
// the matched ones when even that is too wide.
function columns(n, matched) {
  if (n <= MAX_COLUMNS) return [...Array(n).keys()];
  const around = new Set();
  for (const c of matched) for (const d of [-1, 0, 1]) if (c + d >= 0 && c + d < n) around.add(c + d);
  const cols = [...around].sort((a, b) => a - b);
  return cols.length <= MAX_COLUMNS ? cols : [...new Set(matched)].sort((a, b) => a - b);
}

function heatmap(s) {
  const matched = best(s.sim);
  const cols = columns(s.doc_tokens.length, matched);
  const low = Math.min(0, ...s.sim.flat());
  const cell = 18, left = 110, top = 90;
  const width = left + cols.length * cell + 10, height = top + s.query_tokens.length * cell + 4;
  const at = new Map(cols.map((c, i) => [c, i]));
  let svg = `<svg class="lx-heatmap" width="${width}" height="${height}" font-size="11" font-family="sans-serif">`;
  cols.forEach((c, i) => {
    const x = left + i * cell + cell / 2;
    svg += `<text class="lx-col" transform="translate(${x},${top - 4}) rotate(-60)">${escape(s.doc_tokens[c])}</text>`;
    if (i > 0 && cols[i - 1] !== c - 1) {
      svg += `<line x1="${left + i * cell}" x2="${left + i * cell}" y1="${top}" y2="${height - 4}" stroke="white" stroke-width="2"/>`;
    }
  });
  s.sim.forEach((row, r) => {
    const y = top + r * cell;
    svg += `<text class="lx-row" x="${left - 6}" y="${y + cell - 5}" text-anchor="end">${escape(s.query_tokens[r])}</text>`;
    cols.forEach((c, i) => {
      svg += `<rect x="${left + i * cell}" y="${y}" width="${cell}" height="${cell}" fill="${color(row[c], low)}"><title>${escape(s.query_tokens[r])} · ${escape(s.doc_tokens[c])}: ${row[c].toFixed(2)}</title></rect>`;
    });
    svg += `<rect x="${left + at.get(matched[r]) * cell + 1}" y="${y + 1}" width="${cell - 2}" height="${cell - 2}" fill="none" stroke="red" stroke-width="1.6"/>`;
  });
  const shown = cols.length < s.doc_tokens.length ? ` (${cols.length} of ${s.doc_tokens.length}: the matched ones and their neighbours)` : "";
  const scale = `<span class="lx-scale" style="background: linear-gradient(to right, ${VIRIDIS.join(", ")})"></span>`;
  return `<div class="lx-caption">Query tokens (rows) against document tokens${shown}; each row's maximum is boxed, and MaxSim is the sum of the boxes. Cosine: ${low.toFixed(2)} ${scale} 1</div>${svg}`;
}

// The document's words, each shaded by the similarity it contributed to MaxSim.
function words(s) {
  const matched = best(s.sim);
  const weight = new Array(s.doc_tokens.length).fill(0);
  matched.forEach((j, r) => (weight[j] += Math.max(0, s.sim[r][j])));
  const most = Math.max(...weight) || 1;
  return s.doc_tokens
    .map((t, j) => {
      const text = t.startsWith("##") ? t.slice(2) : ` ${t}`;
      const style = weight[j] > 0 ? ` style="background: rgba(85,168,104,${(weight[j] / most).toFixed(2)}); border-radius: 3px"` : "";
      return `<span${style}>${escape(text)}</span>`;
    })
    .join("");
}

function render({ model, el }) {
  el.classList.add("lx");
  el.innerHTML = `
    <style>
      .lx { font-family: sans-serif; font-size: 14px; max-width: 100%; }
      .lx form { display: flex; gap: 6px; margin-bottom: 6px; }
      .lx .lx-query { flex: 1; min-width: 0; padding: 4px 6px; font-size: 14px; }
      .lx .lx-note { color: #555; font-size: 12px; margin-bottom: 6px; }
      .lx ol { margin: 0 0 8px 0; padding-left: 28px; }
      .lx li { cursor: pointer; padding: 1px 4px; border-radius: 3px; }
      .lx li.lx-selected { background: #e8eef8; font-weight: 600; }
      .lx .lx-map { overflow-x: auto; }
      .lx .lx-words { line-height: 1.9; margin-top: 6px; }
      .lx .lx-caption { font-size: 12px; color: #555; }
      .lx .lx-scale { display: inline-block; width: 80px; height: 9px; vertical-align: middle; }
    </style>
    <form><input class="lx-query" type="text" aria-label="query"><button type="submit">Search</button></form>
    <div class="lx-note"></div><ol class="lx-results"></ol><div class="lx-map"></div><div class="lx-words"></div>`;
  const input = el.querySelector(".lx-query");
  input.value = model.get("query");
  el.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    model.set("query", input.value);
    model.save_changes();
  });
  const draw = () => {
    const s = model.get("state");
    el.querySelector(".lx-note").textContent = model.get("note");
    if (!s || !s.results) return;
    if (document.activeElement !== input) input.value = s.query; // a query set elsewhere shows here
    const list = el.querySelector(".lx-results");
    list.innerHTML = s.results
      .map((r, i) => `<li data-id="${escape(r.id)}" data-score="${r.score}" class="${i === s.selected ? "lx-selected" : ""}">${escape(r.title.slice(0, 110))} <small>(${escape(r.id)}, MaxSim ${r.score.toFixed(2)})</small></li>`)
      .join("");
    list.querySelectorAll("li").forEach((item, i) =>
      item.addEventListener("click", () => {
        model.set("selected", i);
        model.save_changes();
      }),
    );
    el.querySelector(".lx-map").innerHTML = heatmap(s);
    el.querySelector(".lx-words").innerHTML = words(s);
    el.dataset.query = s.query;
    el.dataset.selected = s.selected;
  };
  model.on("change:state", draw);
  model.on("change:note", draw);
  draw();
}

export default { render };
