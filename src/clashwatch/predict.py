"""Inference: `Extractor.load(path).extract(text)` -> spans, relations and events with confidences.

One encoder pass per window: the tagger reads every window, and the relation head classifies the
allowed candidate pairs of the spans decoded inside that window from the same hidden states. A
token's tag comes from the window where it has most context; a pair's relation from the window where
both spans have most context and match the document-level spans."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

import torch

from .config import REPO_ROOT
from .data import (
    REL_CLASSES,
    SPAN2ID,
    TokenizedDoc,
    decode_tags,
    pad_batch,
    pair_allowed,
    sorted_windows,
    span_token_range,
    tokenize_documents,
    window_tags,
)
from .runtime import RUNTIMES, OnnxJointModel, cpu_threads_for
from .schema import ClashwatchError, ConfigError, Document, ModelNotFoundError, Relation, Span

DEFAULT_MODEL = REPO_ROOT / "models" / "default"
TRAIN_HINT = "clashwatch train --config train/default.yaml --out models/default"


def as_date(value: date | str | None) -> date | None:
    """A publication date from a date, a datetime or an ISO string; anything else is a TypeError."""
    if value is None or isinstance(value, date):
        return value.date() if hasattr(value, "date") and callable(value.date) else value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(f"published must be an ISO date (YYYY-MM-DD), got {value!r}") from None
    raise TypeError(f"published must be a date or an ISO date string, got {type(value).__name__}")


@dataclass
class Extraction:
    doc_id: str
    text: str
    spans: list[Span] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    events: list = field(default_factory=list)
    model: str | None = None

    def to_document(self) -> Document:
        return Document(self.doc_id, self.text, list(self.spans), list(self.relations), meta={"data": {}})

    def to_dict(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "text": self.text,
            "spans": [{"id": s.id, "start": s.start, "end": s.end, "label": s.label, "text": s.text,
                       "score": round(float(s.score or 0), 4)} for s in self.spans],
            "relations": [{"head": r.head, "tail": r.tail, "label": r.label, "score": round(float(r.score or 0), 4)}
                          for r in self.relations],
            "events": [e.to_dict() if hasattr(e, "to_dict") else e for e in self.events],
        }

    @property
    def score(self) -> float:
        """The prediction's overall confidence: the mean span confidence (0 without spans)."""
        scores = [s.score for s in self.spans if s.score is not None]
        return round(sum(scores) / len(scores), 4) if scores else 0.0

    def to_label_studio(self) -> list[dict]:
        """The Label Studio `result` list (the gold's shape, with per-region scores): a pre-annotation."""
        from .corpus import result_from_document

        return result_from_document(self.to_document(), with_scores=True)


@dataclass
class BatchItemError:
    """Stands in a batch's output for a document that failed; the batch goes on."""

    index: int
    doc_id: str | None
    error: Exception

    def __str__(self) -> str:
        return f"document {self.doc_id or self.index}: {type(self.error).__name__}: {self.error}"


class Extractor:
    def __init__(self, model, tokenizer, *, max_length: int = 256, stride: int = 64, name: str | None = None,
                 device: str | torch.device = "cpu"):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.max_length, self.stride, self.name, self.device = max_length, stride, name, torch.device(device)
        self.timings = {"tagger_s": 0.0, "relation_s": 0.0}

    @classmethod
    def load(cls, path: str | Path | None = None, *, device: str | None = None, runtime: str = "torch",
             quantize: bool = False, threads: int | None = None) -> "Extractor":
        """Load `path`, else `$CLASHWATCH_MODEL`, else `models/default` of the repository (no network).
        runtime="onnx": the encoder under ONNX Runtime on CPU (`runtime.py`), int8 with `quantize`."""
        import yaml

        from .modeling import load_model

        path = Path(path or os.environ.get("CLASHWATCH_MODEL") or DEFAULT_MODEL)
        if not path.is_dir():
            raise ModelNotFoundError(f"no trained model at {path}; `{TRAIN_HINT}` trains it")
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if runtime not in RUNTIMES or quantize and runtime != "onnx":
            raise ConfigError(f"runtime must be one of {RUNTIMES} (quantize needs onnx), got {runtime!r}")
        device = "cpu" if runtime == "onnx" else device
        model, tokenizer = load_model(path, device)
        if runtime == "onnx":
            model = OnnxJointModel.from_joint(model, path, quantize=quantize, threads=threads)
        max_length, stride = 256, 64
        if (path / "config.yaml").exists():
            data = (yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")) or {}).get("data") or {}
            max_length, stride = data.get("max_length", max_length), data.get("stride", stride)
        return cls(model, tokenizer, max_length=max_length, stride=stride, name=path.name, device=device)

    # ------------------------------------------------------------ public API

    def extract(self, text: str, *, published: date | str | None = None, doc_id: str | None = None) -> Extraction:
        """Spans, relations and events of one article; `published` (a date or "YYYY-MM-DD") resolves
        relative dates such as "Saturday"."""
        if not isinstance(text, str):
            raise TypeError(f"extract() needs a str, got {type(text).__name__}")
        return self._extract_many([text], [doc_id or "doc"], as_date(published))[0]

    def extract_batch(self, texts: Iterable[str], batch_size: int = 8, published: date | str | None = None,
                      doc_ids: Iterable[str] | None = None) -> Iterator[Extraction | BatchItemError]:
        """Extractions in input order; windows of several documents share batches. A document that
        fails yields a BatchItemError in its place."""
        published = as_date(published)
        ids = iter(doc_ids) if doc_ids is not None else None
        group: list[tuple[int, str, str]] = []
        budget = 0
        for i, text in enumerate(texts):
            doc_id = str(next(ids)) if ids is not None else f"doc{i}"
            if not isinstance(text, str):
                yield from self._flush(group, published, batch_size)
                group, budget = [], 0
                yield BatchItemError(i, doc_id, TypeError(f"document {i} is a {type(text).__name__}, not a str"))
                continue
            group.append((i, doc_id, text))
            budget += len(text)
            if budget >= 2000 * 4 * batch_size:  # about 4 windows of 256 tokens per batch slot
                yield from self._flush(group, published, batch_size)
                group, budget = [], 0
        yield from self._flush(group, published, batch_size)

    def _flush(self, group, published, batch_size) -> Iterator[Extraction | BatchItemError]:
        if not group:
            return
        try:
            yield from self._extract_many([t for _, _, t in group], [d for _, d, _ in group], published, batch_size)
        except ClashwatchError:
            raise
        except Exception:  # one bad document: redo one by one so the others still come out
            for i, doc_id, text in group:
                try:
                    yield self._extract_many([text], [doc_id], published, batch_size)[0]
                except Exception as e:  # noqa: BLE001 - reported per document
                    yield BatchItemError(i, doc_id, e)

    # ------------------------------------------------------------ core

    def _extract_many(self, texts, doc_ids, published=None, batch_size: int = 8) -> list[Extraction]:
        tdocs = tokenize_documents(texts, self.tokenizer)
        results = self.run(tdocs, batch_size=batch_size)
        out = []
        for text, doc_id, tdoc, result in zip(texts, doc_ids, tdocs, results):
            spans, relations = result if result else ([], [])
            ex = Extraction(doc_id, text, spans, relations, model=self.name)
            if spans:
                ex.events = self._events(ex, published)
            out.append(ex)
        return out

    def _events(self, ex: Extraction, published) -> list:
        try:
            from .events import assemble_events
        except ImportError:
            return []
        return assemble_events(ex.to_document(), published)

    def run(self, tdocs: list[TokenizedDoc | None], gold_spans: list[list[Span]] | None = None,
            batch_size: int = 8, relations: bool = True) -> list[tuple[list[Span], list[Relation]] | None]:
        """Spans and relations for tokenised documents; with `gold_spans` the tagger is bypassed for the
        relation candidates (relation evaluation given gold spans); `relations=False` runs the tagger
        alone (no relation head; every relation list is empty)."""
        with cpu_threads_for(self.model):
            return self._run(tdocs, gold_spans, batch_size, relations)

    @torch.inference_mode()
    def _run(self, tdocs, gold_spans, batch_size, relations):
        import time

        windows, owners = sorted_windows(tdocs, self.tokenizer, self.max_length, self.stride)
        tags = [dict() for _ in tdocs]
        probs = [dict() for _ in tdocs]
        pair_votes = [dict() for _ in tdocs]
        gold_ranges = None
        if gold_spans is not None:
            gold_ranges = [[(s, span_token_range(t, s.start, s.end)) for s in spans] if t is not None else []
                           for t, spans in zip(tdocs, gold_spans)]
        pad = self.tokenizer.pad_token_id or 0
        for b in range(0, len(windows), batch_size):
            batch = windows[b : b + batch_size]
            ids, mask = pad_batch([w for _, _, w in batch], pad)
            t0 = time.perf_counter()
            logits, hidden = self.model.encode(ids.to(self.device), mask.to(self.device))
            best_p, best = logits.float().softmax(-1).max(-1)
            best_p, best = best_p.cpu().tolist(), best.cpu().tolist()
            local = []
            for i, (d, k, w) in enumerate(batch):
                found = window_tags(tdocs[d], w, best[i], best_p[i])
                for tok, (tag, prob) in found.items():
                    if owners[d][tok] == k:
                        tags[d][tok], probs[d][tok] = tag, prob
                if relations:
                    local.append(({t: v[0] for t, v in found.items()}, {t: v[1] for t, v in found.items()}))
            self.timings["tagger_s"] += time.perf_counter() - t0
            if not relations:
                continue
            t0 = time.perf_counter()
            for i, (d, k, w) in enumerate(batch):
                tdoc, s0, e0, prefix = tdocs[d], w["token_start"], w["token_end"], w["prefix"]
                if gold_ranges is not None:
                    inside = [((s.start, s.end, s.label), rng) for s, rng in gold_ranges[d]
                              if rng is not None and rng[0] >= s0 and rng[1] < e0]
                else:
                    inside = []
                    for s in decode_tags(tdoc, *local[i]):
                        rng = span_token_range(tdoc, s["start"], s["end"])
                        if rng is not None and rng[0] >= s0 and rng[1] < e0:
                            inside.append(((s["start"], s["end"], s["label"]), rng))
                pairs = [(h, t) for h in range(len(inside)) for t in range(len(inside))
                         if h != t and pair_allowed(inside[h][0][2], inside[t][0][2], inside[h][0][0], inside[t][0][0])]
                if not pairs:
                    continue
                spans_t = torch.tensor([[a - s0 + prefix, b - s0 + prefix, SPAN2ID[key[2]]] for key, (a, b) in inside],
                                       device=self.device)
                rel = self.model.relation_head(hidden[i], spans_t, torch.tensor(pairs, device=self.device))
                rp, rl = rel.softmax(-1).max(-1)
                for (h, t), label, prob in zip(pairs, rl.tolist(), rp.tolist()):
                    (hk, (ha, hb)), (tk, (ta, tb)) = inside[h], inside[t]
                    centrality = min(min(ha, ta) - s0, e0 - 1 - max(hb, tb))
                    key = (hk, tk)
                    if key not in pair_votes[d] or centrality > pair_votes[d][key][0]:
                        pair_votes[d][key] = (centrality, label, prob)
            self.timings["relation_s"] += time.perf_counter() - t0
        out = []
        for d, tdoc in enumerate(tdocs):
            if tdoc is None:
                out.append(None)
                continue
            if gold_spans is not None:
                spans = [Span(s.id, s.start, s.end, s.label, s.text, 1.0) for s in gold_spans[d]]
            else:
                spans = [Span(f"T{n}", s["start"], s["end"], s["label"], tdoc.text[s["start"]:s["end"]], round(s["score"], 4))
                         for n, s in enumerate(decode_tags(tdoc, tags[d], probs[d]), 1)]
            by_key = {(s.start, s.end, s.label): s for s in spans}
            relations = []
            for (hk, tk), (_, label, prob) in sorted(pair_votes[d].items()):
                if label and hk in by_key and tk in by_key:
                    relations.append(Relation(by_key[hk].id, by_key[tk].id, REL_CLASSES[label], round(prob, 4)))
            out.append((spans, relations))
        return out
