"""The command line: ``python -m lateint evaluate PATH`` for readers' own collections.

Prints one JSON line per method (nDCG@10, Recall@100, MRR@10, queries evaluated,
index size, median query time, seconds). Errors are one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from . import data, evaluate
from .checkpoints import DEFAULT, CheckpointError, load_encoder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lateint", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="compare BM25, dense and late interaction on a BEIR-layout folder")
    ev.add_argument(
        "path",
        help="a BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) or a collection name",
    )
    ev.add_argument("--split", default="test", help="qrels split to evaluate (default: test)")
    ev.add_argument("--methods", default="bm25,dense,late", help="comma-separated subset of bm25,dense,late")
    ev.add_argument(
        "--model",
        default=DEFAULT,
        help=f"encoder for dense and late (name or checkpoint folder; default {DEFAULT})",
    )
    ev.add_argument("--max-queries", type=int, default=None, help="evaluate only the first N judged queries")
    args = parser.parse_args(argv)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in evaluate.METHODS]
    if unknown or not methods:
        parser.error(
            f"--methods: unknown {unknown or 'empty list'}; choose from {','.join(evaluate.METHODS)}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dropped/truncated documents are reported below instead
            collection = data.load(args.path, split=args.split)
        if collection.empty_doc_ids:
            print(f"note: {len(collection.empty_doc_ids)} empty document(s) dropped", file=sys.stderr)
        if args.max_queries:
            collection = collection.subset(args.max_queries, len(collection.doc_ids))
        encoder = None
        if any(m != "bm25" for m in methods):
            encoder = load_encoder(args.model)
        for method in methods:
            result = evaluate.run_method(method, collection, encoder)
            print(
                json.dumps({"collection": collection.name, "split": args.split, **result.summary()}),
                flush=True,
            )
    except (data.DataError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
