"""Load retrieval collections in the BEIR layout.

A collection folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``),
``queries.jsonl`` (``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``,
``corpus-id``, ``score`` with a header row). Collections are found by path or by
name in the data folder (``$LATEINT_DATA``, set by the Makefile and ``.ci/run`` to
``../shared/data``). The package ships a small built-in collection, written for
this project, so that every chapter runs without any benchmark present.

Left out: downloading (nothing is fetched at run time) and any preprocessing of
text beyond joining title and body.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

BUILTIN = "builtin"
BUILTIN_PATH = Path(__file__).parent / "builtin"


class DataError(ValueError):
    """A collection is missing or malformed; the message names the path and the problem."""


@dataclass(frozen=True)
class Collection:
    """One BEIR-layout collection, restricted to the queries judged in ``split``.

    ``doc_ids[i]`` and ``doc_texts[i]`` describe document ``i`` (title and body
    joined by a space); ``qrels[query_id][doc_id]`` is the graded relevance.
    ``empty_doc_ids`` lists documents dropped because they had no text at all.
    """

    name: str
    path: Path
    split: str
    doc_ids: list[str]
    doc_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: dict[str, dict[str, int]]
    empty_doc_ids: list[str] = field(default_factory=list)
    doc_titles: list[str] = field(default_factory=list)  # the title part of each text ("" if none)

    @property
    def is_builtin(self) -> bool:
        return self.name == BUILTIN

    def fingerprint(self) -> str:
        """A short hash of the document ids and texts (a cache key for encoded corpora)."""
        h = hashlib.sha256()
        for doc_id, text in zip(self.doc_ids, self.doc_texts):
            h.update(doc_id.encode())
            h.update(b"\0")
            h.update(text.encode())
            h.update(b"\1")
        return h.hexdigest()[:16]

    def queries_fingerprint(self) -> str:
        """A short hash of the judged queries' ids and texts (a cache key for rankings)."""
        h = hashlib.sha256(json.dumps([self.query_ids, self.query_texts]).encode())
        return h.hexdigest()[:16]

    def subset(self, n_queries: int, n_docs: int, seed: int = 0) -> Collection:
        """A smaller collection for smoke runs: ``n_queries`` queries, their relevant
        documents, and random other documents up to ``n_docs`` in all (fewer when the
        collection is smaller). Same seed, same subset."""
        rng = random.Random(seed)
        picked = sorted(rng.sample(range(len(self.query_ids)), min(n_queries, len(self.query_ids))))
        query_ids = [self.query_ids[i] for i in picked]
        relevant = {d for q in query_ids for d in self.qrels[q]}
        keep = [i for i, d in enumerate(self.doc_ids) if d in relevant]
        others = [i for i, d in enumerate(self.doc_ids) if d not in relevant]
        rng.shuffle(others)
        keep = sorted(keep + others[: max(0, n_docs - len(keep))])
        return Collection(
            name=self.name,
            path=self.path,
            split=self.split,
            doc_ids=[self.doc_ids[i] for i in keep],
            doc_texts=[self.doc_texts[i] for i in keep],
            query_ids=query_ids,
            query_texts=[self.query_texts[i] for i in picked],
            qrels={q: self.qrels[q] for q in query_ids},
            empty_doc_ids=self.empty_doc_ids,
            doc_titles=[self.doc_titles[i] for i in keep] if self.doc_titles else [],
        )

    def with_queries(self, query_ids: Sequence[str]) -> Collection:
        """The same documents with only ``query_ids`` (in this collection's order)."""
        wanted = set(query_ids)
        unknown = wanted - set(self.query_ids)
        if unknown:
            raise DataError(
                f"{self.name}: {len(unknown)} query ids not judged in {self.split}, e.g. {min(unknown)!r}"
            )
        keep = [i for i, q in enumerate(self.query_ids) if q in wanted]
        return replace(
            self,
            query_ids=[self.query_ids[i] for i in keep],
            query_texts=[self.query_texts[i] for i in keep],
            qrels={self.query_ids[i]: self.qrels[self.query_ids[i]] for i in keep},
        )

    def halves(self, seed: int = 0) -> tuple[Collection, Collection]:
        """The judged queries split at random in two (dev, test), the first half the
        smaller by one when their number is odd: choose on one, report the other."""
        order = list(range(len(self.query_ids)))
        random.Random(seed).shuffle(order)
        cut = len(order) // 2
        return tuple(
            self.with_queries([self.query_ids[i] for i in part]) for part in (order[:cut], order[cut:])
        )

    def __repr__(self) -> str:
        return (
            f"Collection({self.name!r}, split={self.split!r}, docs={len(self.doc_ids)}, "
            f"queries={len(self.query_ids)}, judgments={sum(map(len, self.qrels.values()))})"
        )


def data_dir() -> Path | None:
    """The folder named by ``$LATEINT_DATA``, or None when unset."""
    value = os.environ.get("LATEINT_DATA")
    return Path(value) if value else None


def resolve(name_or_path: str | os.PathLike) -> Path:
    """Turn a collection name ("scifact", "builtin") or a folder path into a folder."""
    if str(name_or_path) == BUILTIN:
        return BUILTIN_PATH
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if os.sep not in str(name_or_path) and data_dir() is not None:
        candidate = data_dir() / str(name_or_path)
        if candidate.is_dir():
            return candidate
        raise DataError(
            f"no collection {str(name_or_path)!r} in the data folder {data_dir()} ($LATEINT_DATA)"
        )
    hint = "" if data_dir() else " (and $LATEINT_DATA is not set: point it at a folder of collections)"
    raise DataError(f"collection folder not found: {path}{hint}")


def available(name: str) -> bool:
    """Whether a collection can be loaded by name here."""
    try:
        resolve(name)
        return True
    except DataError:
        return False


def load(name_or_path: str | os.PathLike, split: str = "test") -> Collection:
    """Load a BEIR-layout collection and keep the queries judged in ``split``.

    >>> c = load("builtin")
    >>> c.is_builtin, len(c.query_ids) > 0, len(c.doc_ids) > len(c.query_ids)
    (True, True, True)
    """
    path = resolve(name_or_path)
    name = BUILTIN if path == BUILTIN_PATH else path.name
    for required in ("corpus.jsonl", "queries.jsonl"):
        if not (path / required).is_file():
            raise DataError(f"{path} is not a BEIR-layout collection: {required} is missing")
    qrels_path = path / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        splits = sorted(p.stem for p in (path / "qrels").glob("*.tsv")) if (path / "qrels").is_dir() else []
        raise DataError(f"{qrels_path} is missing (splits found: {splits or 'none'})")

    doc_ids, doc_texts, doc_titles, empty = [], [], [], []
    for row in _read_jsonl(path / "corpus.jsonl", required=("_id",)):
        text = " ".join(
            part for part in (row.get("title") or "", row.get("text") or "") if part.strip()
        ).strip()
        if not text:
            empty.append(str(row["_id"]))
            continue
        doc_ids.append(str(row["_id"]))
        doc_texts.append(text)
        doc_titles.append((row.get("title") or "").strip())
    if not doc_ids:
        raise DataError(f"{path / 'corpus.jsonl'} holds no document with text")
    if len(set(doc_ids)) != len(doc_ids):
        raise DataError(f"{path / 'corpus.jsonl'} repeats document ids")
    if empty:
        warnings.warn(
            f"{name}: {len(empty)} empty document(s) dropped: {', '.join(empty[:10])}", stacklevel=2
        )

    queries = {
        str(r["_id"]): str(r.get("text") or "")
        for r in _read_jsonl(path / "queries.jsonl", required=("_id", "text"))
    }
    qrels = _read_qrels(qrels_path)
    missing = sorted(q for q in qrels if q not in queries)
    if missing:
        raise DataError(f"{qrels_path} judges queries that {path / 'queries.jsonl'} lacks: {missing[:5]}")
    known = set(doc_ids) | set(empty)
    unknown = sorted({d for judged in qrels.values() for d in judged if d not in known})
    if unknown:
        raise DataError(f"{qrels_path} judges documents that corpus.jsonl lacks: {unknown[:5]}")
    query_ids = [q for q in queries if q in qrels]  # file order
    return Collection(
        name=name,
        path=path,
        split=split,
        doc_ids=doc_ids,
        doc_texts=doc_texts,
        query_ids=query_ids,
        query_texts=[queries[q] for q in query_ids],
        qrels=qrels,
        empty_doc_ids=empty,
        doc_titles=doc_titles,
    )


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}, line {line_no}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict) or any(key not in row for key in required):
                raise DataError(f"{path}, line {line_no}: expected an object with keys {list(required)}")
            rows.append(row)
    if not rows:
        raise DataError(f"{path} is empty")
    return rows


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        lines = [line.rstrip("\r\n") for line in f if line.strip()]
    if not lines:
        raise DataError(f"{path} is empty")
    start = 1 if lines[0].lower().startswith("query-id") else 0
    for line_no, line in enumerate(lines[start:], start + 1):
        parts = line.split("\t")
        if len(parts) != 3:
            raise DataError(
                f"{path}, line {line_no}: expected 3 tab-separated fields (query-id, corpus-id, score), "
                f"got {len(parts)}"
            )
        query_id, doc_id, score = parts
        try:
            grade = int(score)
        except ValueError:
            raise DataError(f"{path}, line {line_no}: score {score!r} is not an integer") from None
        if grade > 0:  # BEIR convention: only positive grades count as relevant
            qrels.setdefault(query_id, {})[doc_id] = grade
    if not qrels:
        raise DataError(f"{path} holds no positive judgment")
    return qrels


def load_available(
    names: list[str], split: str = "test", subset: tuple[int, int] | None = None
) -> tuple[list[Collection], str]:
    """The named collections that can be loaded here, else the built-in one, and a
    sentence for the page saying which (chapters show it, so readers know what the
    numbers are). ``subset=(n_queries, n_docs)`` shrinks each for smoke runs."""
    found = [name for name in names if available(name)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        collections = [load(name, split) for name in found] or [load(BUILTIN, "test")]
    dropped = "; ".join(str(w.message) for w in caught)
    if subset is not None:
        collections = [c.subset(*subset) for c in collections]
    described = ", ".join(
        f"{c.name} ({len(c.query_ids)} queries, {len(c.doc_ids):,} documents)" for c in collections
    )
    if found:
        note = f"Data: {described}."
        missing = [n for n in names if n not in found]
        if missing:
            note += f" Not found here, so left out: {', '.join(missing)}."
    else:
        note = (
            f"**No benchmark collection was found** (looked for {', '.join(names)} in `$LATEINT_DATA`), so "
            "this page "
            f"runs on lateint's small built-in collection: {described}. Its numbers show the method, not "
            "how it ranks on real data."
        )
    if dropped:
        note += f" ({dropped}.)"
    if subset is not None:
        note += " Smoke run: a small subset of each collection."
    return collections, note
