"""Chapter 2's explorer on the built site, in headless Chromium: what it adds to the
site, how long after opening the first result comes, and how long each later query
takes, against the issue's budgets (64 MB, 5 s, 500 ms). One WASM thread.

    python bench/explorer.py [_build/html]      (after `make book`)

Prints one JSON line with the bytes, the first-result time and the p50/max over
SciFact's first 20 test queries (or the built-in collection's, as the site was built).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from explorer_check import run_queries  # noqa: E402

from lateint import data  # noqa: E402
from lateint.experiments import explorer  # noqa: E402


def main(site: Path) -> None:
    folder = site / "explorer"
    manifest = json.loads((folder / "data" / "manifest.json").read_text())
    collection = data.load(manifest["collection"])  # the collection the site was built on
    added = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    queries = collection.query_texts[:20]
    shown = run_queries(site, "book/02_mechanism.html", queries)
    times = [q["ms"] for q in shown["queries"]]
    print(
        json.dumps(
            {
                "collection": manifest["collection"],
                "documents": manifest["n_docs"],
                "site_bytes_added": added,
                "loaded_before_opening": len(shown["loaded_before_opening"]),
                "first_result_ms": shown["opened_ms"],
                "first_result_wall_s": round(shown["wall_s"], 2),
                "query_ms_p50": statistics.median(times),
                "query_ms_max": max(times),
                "queries": len(times),
                "budgets": {"bytes": explorer.SITE_BUDGET, "first_result_ms": 5000, "query_ms": 500},
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "_build" / "html").resolve())
