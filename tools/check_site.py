"""Open every page of the built book in headless Chromium and check what a reader sees.

    python tools/check_site.py _build/html [--screenshots _build/screenshots]

For each page of ``_toc.yml``: no request to any host but the site's own (a page read
offline loads everything it needs), no console error (failed fetches aside: a failed
image or an outside request is caught on its own), every image loaded, every results
table a real ``<table>`` (no markdown pipes left as text), no traceback, warning or
machine path in any output, no unrendered ``{glue}`` role or ``??`` reference, the
chapter's headline glued numbers in its text, its main figure present, and near its
top the line that says how to run it. Every sentence a chapter claims
(``report.claim``, glued as ``claim_*``) appears on the page word for word; no literal
``**`` and no raw TeX (``\\[``, ``$$``) outside MathJax's ``.math`` elements reaches the
reader; no element is wider than its column unless it sits in a scroll box that shows
a cue. A full-page screenshot of each page is saved.
Exits 1 naming each broken page and the reason; prints one line per page otherwise.

Uses the system's Chromium (Debian's ``chromium``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import ast
import functools
import http.server
import json
import re
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Per chapter: glued values whose formatted text must appear on the page (name, format),
# and the figures (by :name:) it must show. Checked only where the chapter glued them.
HEADLINES = {
    "book/01_comparison": (
        [("main_late_ndcg", ".3f"), ("main_bm25_ndcg", ".3f"), ("main_dense_ndcg", ".3f")],
        ["fig-three-ways", "fig-cost"],
    ),
    "book/02_mechanism": ([("pair_score", ".2f")], ["fig-heatmap"]),
    "book/02b_training": ([("main_late_ndcg", ".3f"), ("main_zeroshot_ndcg", ".3f")], ["fig-trained"]),
    "book/03_speed_quality": (
        [("exh_ndcg", ".3f"), ("best_ndcg", ".3f"), ("muvera_ndcg", ".3f")],
        ["fig-funnel", "fig-speed", "fig-muvera", "fig-scaling"],
    ),
    "book/04_size": ([("ref_ndcg", ".3f"), ("knee_bytes", ".0f")], ["fig-residual", "fig-size"]),
    "book/05_thinking_tokens": ([("main_sweep_base", ".3f")], ["fig-mask-rows", "fig-sweep"]),
    "book/06_colpali": (
        [("pages_ndcg", ".3f"), ("text_ndcg", ".3f")],
        ["fig-page", "fig-maps", "fig-pooling"],
    ),
}
WORDS_PER_MINUTE = 230
# the main path is read start to end; a bibliography is looked up, not read
NOT_READ = {"book/references"}
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/\w+/|/tmp/|site-packages|\.venv/)")
OFFLINE = re.compile(r"net::ERR_|Failed to load resource|ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED")


def pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    entries += [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return entries


def glued_outputs(html_root: Path, page: str) -> dict[str, str]:
    """What the chapter glued, as plain text by name, from the executed notebook beside the site."""
    path = html_root.parent / "jupyter_execute" / f"{page}.glue.json"
    if not path.is_file():
        return {}
    return {
        name: output.get("data", {}).get("text/plain", "")
        for name, output in json.loads(path.read_text()).items()
    }


def glued(html_root: Path, page: str) -> dict[str, float]:
    """Numbers the chapter glued."""
    values = {}
    for name, text in glued_outputs(html_root, page).items():
        match = re.fullmatch(r"(?:np\.\w+\()?(-?[\d.e+-]+)\)?", text.strip())
        if match:
            values[name] = float(match.group(1))
    return values


def claims(html_root: Path, page: str) -> list[str]:
    """The sentences the chapter claimed (``report.claim``), as the page should show them."""
    out = []
    for name, text in glued_outputs(html_root, page).items():
        if name.startswith("claim_"):
            out.append(ast.literal_eval(text.strip()))
    return out


SMART = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "--", "\u2014": "---"}
)


def squash(text: str) -> str:
    """Whitespace folded to single spaces and Sphinx's smart quotes and dashes undone, so a
    sentence typed in a cell matches the page across line breaks."""
    return re.sub(r"\s+", " ", text.translate(SMART)).strip()


# headless Chromium as a server runs it: no sandbox, no GPU, no traffic of its own
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_CHROMIUM = "no chromium on PATH (make check-site installs Debian's chromium)"


def chromium() -> str | None:
    """The system's Chromium (Debian's ``chromium``), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _elsewhere(request: str, site: str) -> bool:
    """True for a web request to a host other than the site's (data: and blob: URLs stay)."""
    where = urlsplit(request)
    return where.scheme in ("http", "https") and where.netloc != urlsplit(site).netloc


def check_page(
    browser, url: str, page_name: str, html_root: Path, screenshots: Path
) -> tuple[list[str], dict]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    elsewhere: list[str] = []  # requests to any host but the site's own: a page must read offline
    page.on("request", lambda r: elsewhere.append(r.url) if _elsewhere(r.url, url) else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)
    # MathJax typesets after load; wait for it (it is served from the site, so offline works)
    page.evaluate("() => window.MathJax?.startup?.promise ? MathJax.startup.promise.then(() => 1) : 0")
    problems = [f"console error: {e[:160]}" for e in errors if not OFFLINE.search(e)]
    if elsewhere:
        problems.append(f"{len(elsewhere)} request(s) to another host: {elsewhere[:3]}")
    facts = page.evaluate("""() => {
        const main = document.querySelector('article') || document.body;
        return {
            images: Array.from(document.images).map(
                i => [i.getAttribute('src') || '', i.complete && i.naturalWidth > 0]),
            // figures drawn smaller than they were made: their text shrinks below its size
            shrunk: Array.from(main.querySelectorAll('figure img, div.figure img'))
                .filter(i => i.naturalWidth > 0 && i.width < 0.99 * i.naturalWidth
                    && !i.classList.contains('lateint-thumbnail'))
                .map(i => (i.getAttribute('src') || '').split('/').pop()
                    + ' ' + i.width + '/' + i.naturalWidth + ' px'),
            tables: main.querySelectorAll('table').length,
            // math MathJax left as TeX (it did not load, or failed on it)
            raw_math: Array.from(main.querySelectorAll('.math'))
                .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 40)),
            figures: Array.from(main.querySelectorAll('figure[id], div.figure[id]')).map(f => f.id),
            text: main.innerText,
            all_text: main.textContent,  // folded sections too (a claim may sit in one)
            // words a reader of the main path meets: folded sections ("going further",
            // collapsed tables, hidden code) left out
            words: (() => {
                const copy = main.cloneNode(true);
                copy.querySelectorAll(
                    'details > :not(summary), .dropdown .admonition-title ~ *, .toggle-hidden, ' +
                    '.tag_hide-input .cell_input, .tag_hide-output .cell_output, script, style, .headerlink'
                ).forEach(e => e.remove());
                return (copy.textContent.match(/\\S+/g) || []).length;
            })(),
            outputs: Array.from(main.querySelectorAll('.cell_output, .output')).map(o => o.innerText),
            // the page's prose: no MathJax elements (where TeX is expected), no code
            plain: (() => {
                const copy = main.cloneNode(true);
                const skip = '.math, mjx-container, script, style, pre, code';
                copy.querySelectorAll(skip).forEach(e => e.remove());
                return copy.textContent;
            })(),
            // elements that reach past the column, and whether a scroll box with a cue holds them
            wide: (() => {
                const right = main.getBoundingClientRect().right;
                const out = [];
                for (const el of main.querySelectorAll('*')) {
                    const r = el.getBoundingClientRect();
                    if (r.width === 0 || r.right <= right + 1) continue;
                    let box = el.parentElement, held = false;
                    while (box && box !== main.parentElement) {
                        const o = getComputedStyle(box).overflowX;
                        if (o === 'auto' || o === 'scroll') {
                            held = box.classList.contains('lateint-scroll');
                            break;
                        }
                        box = box.parentElement;
                    }
                    const what = el.tagName.toLowerCase()
                        + (el.className ? '.' + String(el.className).split(' ')[0] : '');
                    if (!held) out.push(what + ' ' + Math.round(r.right - right) + ' px');
                }
                return out;
            })(),
        };
    }""")
    broken = [src for src, ok in facts["images"] if not ok]
    if broken:
        problems.append(f"{len(broken)} image(s) did not load: {broken[:3]}")
    if facts["raw_math"]:
        problems.append(f"math left as raw TeX (is MathJax served?): {facts['raw_math'][:3]}")
    if re.search(r"\|\s*-{3,}\s*\|", facts["text"]):
        problems.append("a markdown table was left as text (|---|)")
    for output in facts["outputs"]:
        for pattern, what in (
            (r"Traceback \(most recent call last\)", "a traceback"),
            (r"\w*Warning:", "a warning"),
            (r"\d+%\|", "a progress bar"),
            (MACHINE_PATH, "a machine path"),
        ):
            found = re.search(pattern, output)
            if found:
                problems.append(
                    f"{what} in an output: ...{output[max(0, found.start() - 60) : found.end() + 60]!r}"
                )
    if re.search(r"\{glue(:\w+)?\}", facts["text"]):
        problems.append("an unrendered {glue} role")
    if re.search(r"(^|\s)\?\?(\s|$)", facts["text"]):
        problems.append("an unresolved ?? reference")
    if "**" in facts["plain"]:
        at = facts["plain"].index("**")
        problems.append(f"a literal ** on the page: ...{facts['plain'][max(0, at - 50) : at + 50]!r}")
    for tex in (r"\[", "$$"):
        if tex in facts["plain"]:
            at = facts["plain"].index(tex)
            problems.append(f"raw TeX {tex} on the page: ...{facts['plain'][max(0, at - 50) : at + 50]!r}")
    if facts["shrunk"]:
        problems.append(f"figure(s) shown smaller than made, text under 9 pt: {facts['shrunk'][:3]}")
    if facts["wide"]:
        problems.append(
            f"{len(facts['wide'])} element(s) wider than the column, no scroll cue: {facts['wide'][:4]}"
        )
    page_text = squash(facts["all_text"])
    for sentence in claims(html_root, page_name):
        if squash(sentence) not in page_text:
            problems.append(f"the claimed sentence {sentence!r} is not on the page word for word")
    # every chapter says near its top how to run it and where its data come from
    run_it = facts["text"].find("Run it: make lab")
    if page_name in HEADLINES and not 0 <= run_it < 3000:
        problems.append("no 'Run it: make lab ...' line near the top")
    numbers, figures = HEADLINES.get(page_name, ([], []))
    values = glued(html_root, page_name)
    for name, fmt in numbers:
        if name in values and format(values[name], fmt) not in facts["text"]:
            problems.append(f"headline {name} = {format(values[name], fmt)} is not in the text")
    for figure in figures:
        if figure not in facts["figures"]:
            problems.append(f"figure {figure} is missing")
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / f"{Path(page_name).name}.png"), full_page=True)
    page.close()
    counts = {
        "tables": facts["tables"],
        "images": len(facts["images"]),
        "figures": len(facts["figures"]),
        "words": facts["words"],
    }
    return problems, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built site, e.g. _build/html")
    parser.add_argument("--screenshots", type=Path, default=None, help="default: <html>/../screenshots")
    args = parser.parse_args(argv)
    html_root = args.html.resolve()
    screenshots = args.screenshots or html_root.parent / "screenshots"
    browser_path = chromium()
    if browser_path is None:
        print(f"error: {NO_CHROMIUM}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    server, base = serve(html_root)
    failed = words = 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS)
            for name in pages():
                file = html_root / f"{name}.html"
                if not file.is_file():
                    print(f"FAIL {name}: not built ({file})")
                    failed += 1
                    continue
                problems, counts = check_page(browser, f"{base}/{name}.html", name, html_root, screenshots)
                status = "FAIL" if problems else "ok  "
                tally = (
                    f"{counts['tables']} tables, {counts['images']} images, {counts['figures']} figures, "
                    f"{counts['words']:,} visible words"
                )
                words += 0 if name in NOT_READ else counts["words"]
                print(f"{status} {name}: {tally}")
                for problem in problems:
                    print(f"     - {problem}")
                failed += bool(problems)
            browser.close()
    finally:
        server.shutdown()
    print(
        f"{len(pages()) - failed} pages passed, {failed} failed; {words:,} visible words on the main path "
        f"({words / WORDS_PER_MINUTE:.0f} minutes at {WORDS_PER_MINUTE} words a minute); "
        f"screenshots in {screenshots}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
