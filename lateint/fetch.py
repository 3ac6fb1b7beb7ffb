"""Fetch SciFact and Cranfield into a folder in the BEIR layout (needs a network).

    python -m lateint.fetch [DEST]      # DEST default: $LATEINT_DATA, else ~/.cache/lateint/data

For machines without ``../shared/data`` (the book's CI on GitHub, Colab, Binder):
SciFact is BEIR's own zip; Cranfield comes through ``ir_datasets`` (``pip install
'lateint[fetch]'``) and is written the way ``../shared/data/cranfield`` was made:
graded gain ``5 - code`` for Cleverdon's codes 1..4 (code -1 dropped), empty documents
dropped. Without a network it ends with one line saying so, and the chapters fall back
to the built-in collection. The conversion is tested offline (``tests/test_fetch.py``);
the downloads are not.
"""

from __future__ import annotations

import io
import json
import os
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

SCIFACT_ZIP = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip"


def default_dest() -> Path:
    """Where the collections go: ``$LATEINT_DATA``, else ``~/.cache/lateint/data``."""
    return Path(os.environ.get("LATEINT_DATA") or Path.home() / ".cache" / "lateint" / "data")


def fetch_scifact(dest: Path) -> None:
    with urllib.request.urlopen(SCIFACT_ZIP, timeout=120) as response:
        zipfile.ZipFile(io.BytesIO(response.read())).extractall(dest)


def write_beir(folder: Path, docs, queries, qrels) -> None:
    """``docs``: (id, title, text); ``queries``: (id, text); ``qrels``: (query, doc, code)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    with (folder / "corpus.jsonl").open("w") as f:
        for doc_id, title, text in docs:
            if (title + text).strip():
                f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as f:
        for query_id, text in queries:
            f.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    with (folder / "qrels" / "test.tsv").open("w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for query_id, doc_id, code in qrels:
            if 1 <= code <= 4:
                f.write(f"{query_id}\t{doc_id}\t{5 - code}\n")


def fetch_cranfield(dest: Path) -> None:
    import ir_datasets

    dataset = ir_datasets.load("cranfield")
    write_beir(
        dest / "cranfield",
        ((d.doc_id, d.title, d.text) for d in dataset.docs_iter()),
        ((q.query_id, q.text) for q in dataset.queries_iter()),
        ((q.query_id, q.doc_id, int(q.relevance)) for q in dataset.qrels_iter()),
    )


def fetch(dest: Path) -> bool:
    """Both collections into ``dest``; False (and one line on stderr) when the network or
    ``ir_datasets`` is missing: the chapters then run on the built-in collection."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        fetch_scifact(dest)
        fetch_cranfield(dest)
    except (urllib.error.URLError, OSError, ImportError) as error:
        reason = getattr(error, "reason", None) or error
        print(
            f"lateint.fetch: could not fetch the collections ({reason}); the chapters will use "
            "the built-in collection",
            file=sys.stderr,
        )
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    dest = Path(argv[0]) if argv else default_dest()
    return 0 if fetch(dest) else 1


if __name__ == "__main__":
    sys.exit(main())
