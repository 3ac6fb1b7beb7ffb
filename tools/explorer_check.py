"""Drive the explorer of a static page in headless Chromium, as a reader would: open it,
type each query, and read back what the page shows.

    from explorer_check import run_queries
    shown = run_queries(site_folder, "index.html", ["a query", ...])

Used by tests/test_explorer.py (agreement with lateint) and bench/explorer.py (load
and query times). Uses the system's Chromium, like check_site.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from check_site import CHROMIUM_FLAGS, NO_CHROMIUM, chromium, serve


def run_queries(folder: Path, page: str, queries: list[str], screenshot: Path | None = None) -> dict:
    """Open ``page`` under ``folder``, press the explorer's button, then search each query.

    Returns ``loaded_before_opening`` (the explorer's files fetched before the button was
    pressed: none, when the page keeps its promise), ``opened_ms`` (button to first
    result, by the page's clock), ``wall_s`` (the same, by this process's clock), and per
    query: ``ids`` and ``scores`` of the results,
    ``rows`` (the heatmap's row labels) and ``ms`` (the page's time for the query).
    """
    from playwright.sync_api import sync_playwright

    browser_path = chromium()
    if browser_path is None:
        raise RuntimeError(NO_CHROMIUM)
    server, base = serve(folder)
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS)
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.on("pageerror", lambda e: errors.append(str(e)))
            requested: list[str] = []
            tab.on("request", lambda r: requested.append(r.url))
            tab.goto(f"{base}/{page}", wait_until="networkidle")
            before = [u for u in requested if "/explorer/" in u]
            started = time.perf_counter()
            tab.click(".lateint-open")
            tab.wait_for_selector(".lx[data-query]", timeout=120_000)
            out = {
                "wall_s": time.perf_counter() - started,
                "loaded_before_opening": before,
                "opened_ms": float(tab.eval_on_selector(".lateint-explorer", "b => b.dataset.firstResultMs")),
                "queries": [],
            }
            for query in queries:
                tab.fill(".lx-query", query)
                tab.click(".lx button[type=submit]")
                tab.wait_for_function("q => document.querySelector('.lx').dataset.query === q", arg=query)
                items = tab.query_selector_all(".lx-results li")
                out["queries"].append(
                    {
                        "ids": [li.get_attribute("data-id") for li in items],
                        "scores": [float(li.get_attribute("data-score")) for li in items],
                        "rows": [t.text_content() for t in tab.query_selector_all(".lx-row")],
                        "ms": float(tab.eval_on_selector(".lateint-explorer", "b => b.dataset.queryMs")),
                    }
                )
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                tab.screenshot(path=str(screenshot), full_page=True)
            browser.close()
    finally:
        server.shutdown()
    if errors:
        raise RuntimeError("the page raised: " + "; ".join(errors))
    return out
