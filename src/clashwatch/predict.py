"""Inference: `Extractor.load(path).extract(text)` -> spans, relations and events with confidences.

1. The encoder reads every window of a document once; each token keeps the tag distribution of the
   window where it has most context.
2. `decoding.decode` finds the document's spans under the spec's constraints (constrained Viterbi).
3. The relation head classifies the allowed pairs of spans inside each window, from the hidden states
   of the window where both spans have most context.
4. `grouping` puts trigger mentions into events over the whole document (the event head scores pairs of
   mentions from any windows; by default the one-event-per-type prior splits only where the head agrees,
   and the head picks among the events open to a mention) and keeps each argument with the event it is
   best linked to.
5. `events.assemble_events` turns the result into records."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from .data import REL_CLASSES, SPAN2ID, TokenizedDoc, pad_batch, pair_allowed, sorted_windows, span_token_range
from .data import tokenize_documents
from .decoding import decode, decode_greedy
from .grouping import GROUPINGS, apply_clusters, attach_arguments, candidate_pairs, cluster_consensus, cluster_learned
from .grouping import cluster_prior, mention_contexts, pair_features, triggers_of
from .lexicon import Lexicon
from .modeling import TRAIN_HINT, pool_spans
from .runtime import RUNTIMES, OnnxJointModel, cpu_threads_for
from .schema import FIGURE_LABELS, ClashwatchError, ConfigError, Document, ModelNotFoundError, Relation, Span

DEFAULT_MODEL_NAME = "default"
DECODERS = ("viterbi", "greedy")


def default_model_path() -> Path:
    """`$CLASHWATCH_MODEL`, else the shipped default model: `models/default` of a checkout, or the copy an
    installed wheel puts under `<prefix>/share/clashwatch/`."""
    from .config import installed_file

    if os.environ.get("CLASHWATCH_MODEL"):
        return Path(os.environ["CLASHWATCH_MODEL"])
    return installed_file(Path("models") / DEFAULT_MODEL_NAME)


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
            "unattached_figures": [{"id": s.id, "start": s.start, "end": s.end, "label": s.label, "text": s.text,
                                    "flag": "unattached"} for s in self.unattached_figures],
        }

    @property
    def unattached_figures(self) -> list[Span]:
        """KILLED, INJURED and DISPLACED spans that no clash claims (no toll link): kept and flagged,
        never dropped in silence."""
        tolled = {r.tail for r in self.relations if r.label == "toll"}
        return [s for s in self.spans if s.label in FIGURE_LABELS and s.id not in tolled]

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
                 device: str | torch.device = "cpu", grouping: str = "consensus", decoder: str = "viterbi",
                 lexicon: Lexicon | None = None):
        if grouping not in GROUPINGS:
            raise ConfigError(f"grouping must be one of {GROUPINGS}, got {grouping!r}")
        if decoder not in DECODERS:
            raise ConfigError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        if grouping != "prior" and getattr(model, "event_head", None) is None:
            raise ConfigError(f"grouping={grouping!r} needs a model with an event head; use grouping='prior'")
        self.model, self.tokenizer = model.eval(), tokenizer
        self.max_length, self.stride, self.name, self.device = max_length, stride, name, torch.device(device)
        self.grouping, self.decoder, self.lexicon = grouping, decoder, lexicon
        self.timings = {"tagger_s": 0.0, "relation_s": 0.0, "grouping_s": 0.0}

    @classmethod
    def load(cls, path: str | Path | None = None, *, device: str | None = None, runtime: str = "torch",
             quantize: bool = False, threads: int | None = None, grouping: str = "consensus",
             decoder: str = "viterbi", quiet: bool = False) -> "Extractor":
        """Load `path`, else `$CLASHWATCH_MODEL`, else `models/default` (no network). runtime="onnx": the
        encoder under ONNX Runtime on CPU (`runtime.py`), int8 with `quantize`. Says on stderr, in one
        line, which model and base encoder it loaded (unless `quiet`)."""
        from .config import model_settings
        from .modeling import load_model

        path = Path(path) if path is not None else default_model_path()
        if not path.is_dir():
            raise ModelNotFoundError(f"no trained model at {path}; `{TRAIN_HINT}` trains it")
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if runtime not in RUNTIMES or quantize and runtime != "onnx":
            raise ConfigError(f"runtime must be one of {RUNTIMES} (quantize needs onnx), got {runtime!r}")
        device = "cpu" if runtime == "onnx" else device
        started = time.perf_counter()
        model, tokenizer, manifest = load_model(path, device)
        max_length, stride = model_settings(path, model.tagger.config)
        if runtime == "onnx":
            model = OnnxJointModel.from_joint(model, path, quantize=quantize, threads=threads)
        if not quiet:
            kind = "LoRA adapters merged into" if manifest["format"] == "lora" else "fine-tuned"
            print(f"clashwatch: model {path} ({kind} base encoder {manifest['base_model']}, {runtime} on {device}, "
                  f"loaded in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
        return cls(model, tokenizer, max_length=max_length, stride=stride, name=path.name, device=device,
                   grouping=grouping, decoder=decoder, lexicon=Lexicon.load(path))

    # ------------------------------------------------------------ public API

    def extract(self, text: str, *, published: date | str | None = None, doc_id: str | None = None) -> Extraction:
        """Spans, relations and events of one article; `published` (a date or "YYYY-MM-DD") resolves
        relative dates such as "Saturday"."""
        if not isinstance(text, str):
            raise TypeError(f"extract() needs a str, got {type(text).__name__}")
        if doc_id is not None and not isinstance(doc_id, str):
            raise TypeError(f"doc_id must be a str, got {type(doc_id).__name__}")
        return self._extract_many([text], [doc_id or "doc"], as_date(published))[0]

    def extract_batch(self, texts: Iterable[str], batch_size: int = 8, published: date | str | None = None,
                      doc_ids: Iterable[str] | None = None) -> Iterator[Extraction | BatchItemError]:
        """Extractions in input order; windows of several documents share batches. A document that
        fails yields a BatchItemError in its place."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("extract_batch() needs an iterable of texts, not a single string")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
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

    def _extract_many(self, texts, doc_ids, published=None, batch_size: int = 8) -> list[Extraction]:
        from .events import assemble_events

        tdocs = tokenize_documents(texts, self.tokenizer)
        out = []
        results = self.run(tdocs, batch_size=batch_size, published=published)
        for text, doc_id, result in zip(texts, doc_ids, results):
            spans, relations = result if result else ([], [])
            ex = Extraction(doc_id, text, spans, relations, model=self.name)
            ex.events = assemble_events(ex.to_document(), published) if spans else []
            out.append(ex)
        return out

    # ------------------------------------------------------------ core

    def run(self, tdocs: list[TokenizedDoc | None], gold_spans: list[list[Span]] | None = None,
            batch_size: int = 8, relations: bool = True,
            published: date | None = None) -> list[tuple[list[Span], list[Relation]] | None]:
        """Spans and relations for tokenised documents; with `gold_spans` the tagger is bypassed for the
        relation candidates (relation evaluation given gold spans); `relations=False` runs the tagger
        alone (no relation head, no grouping; every relation list is empty); `published` keeps the
        consensus grouping from reading the publication year or a later one as an earlier episode's."""
        with cpu_threads_for(self.model):
            encoded = self._encode(tdocs, batch_size)
            out = []
            for d, tdoc in enumerate(tdocs):
                if tdoc is None:
                    out.append(None)
                    continue
                spans = self._spans(tdoc, encoded, d, gold_spans[d] if gold_spans is not None else None)
                if not relations or not encoded["hidden"][d]:  # no relations, or no token to read
                    out.append((spans, []))
                    continue
                doc = self._relations(tdoc, spans, encoded, d, published)
                out.append((doc.spans, doc.relations))
            return out

    @torch.inference_mode()
    def _encode(self, tdocs, batch_size) -> dict:
        """Every window once: per document the tag log-probabilities of each word-first token (from the
        window that owns it) and the windows' hidden states (kept for the heads)."""
        windows, owners = sorted_windows(tdocs, self.tokenizer, self.max_length, self.stride)
        logprobs = [dict() for _ in tdocs]
        hidden_of: list[list[tuple[dict, torch.Tensor]]] = [[] for _ in tdocs]
        pad = self.tokenizer.pad_token_id or 0
        t0 = time.perf_counter()
        for b in range(0, len(windows), batch_size):
            batch = windows[b : b + batch_size]
            ids, mask = pad_batch([w for _, _, w in batch], pad)
            logits, hidden = self.model.encode(ids.to(self.device), mask.to(self.device))
            logp = torch.log_softmax(logits.float(), -1).cpu().numpy()
            for i, (d, k, w) in enumerate(batch):
                tdoc, s0 = tdocs[d], w["token_start"]
                for tok in range(s0, w["token_end"]):
                    if owners[d][tok] == k and tdoc.word_first[tok] and tdoc.offsets[tok][1] > tdoc.offsets[tok][0]:
                        logprobs[d][tok] = logp[i, tok - s0 + w["prefix"]]
                hidden_of[d].append((w, hidden[i, : len(w["input_ids"])]))
        self.timings["tagger_s"] += time.perf_counter() - t0
        return {"logprobs": logprobs, "hidden": hidden_of}

    def _spans(self, tdoc, encoded, d, gold: list[Span] | None) -> list[Span]:
        if gold is not None:
            return [Span(s.id, s.start, s.end, s.label, s.text, 1.0) for s in gold]
        logprobs = encoded["logprobs"][d]
        if self.decoder == "greedy":  # the unconstrained argmax, kept to measure what the constraints give
            found = decode_greedy(tdoc, {t: int(v.argmax()) for t, v in logprobs.items()},
                                  {t: float(np.exp(v.max())) for t, v in logprobs.items()}, self.lexicon)
        else:
            found = decode(tdoc, logprobs, self.lexicon)
        return [Span(f"T{n}", s["start"], s["end"], s["label"], tdoc.text[s["start"] : s["end"]], round(s["score"], 4))
                for n, s in enumerate(found, 1)]

    @staticmethod
    def _inside(tdoc, spans: list[Span], window: dict) -> list[tuple[Span, tuple[int, int], int]]:
        """The spans inside a window, with their token range in the window and their centrality."""
        s0, e0, prefix = window["token_start"], window["token_end"], window["prefix"]
        out = []
        for s in spans:
            rng = span_token_range(tdoc, s.start, s.end)
            if rng is not None and rng[0] >= s0 and rng[1] < e0:
                out.append((s, (rng[0] - s0 + prefix, rng[1] - s0 + prefix), min(rng[0] - s0, e0 - 1 - rng[1])))
        return out

    @torch.inference_mode()
    def _relations(self, tdoc, spans: list[Span], encoded, d, published: date | None = None) -> Document:
        """Relation votes per window (the window where both spans are most central wins), then the
        document-level grouping of trigger mentions."""
        t0 = time.perf_counter()
        votes: dict[tuple[str, str], tuple[int, int, float]] = {}
        reps: dict[str, tuple[int, torch.Tensor]] = {}  # trigger id -> (centrality, pooled encoding)
        for window, hidden in encoded["hidden"][d]:
            inside = self._inside(tdoc, spans, window)
            if not inside:
                continue
            spans_t = torch.tensor([[a, b, SPAN2ID[s.label]] for s, (a, b), _ in inside], device=hidden.device)
            pooled = pool_spans(hidden, spans_t)
            for n, (s, _, centrality) in enumerate(inside):
                if s.label in ("CLASH", "CEASEFIRE") and (s.id not in reps or centrality > reps[s.id][0]):
                    reps[s.id] = (centrality, pooled[n])
            pairs = [(h, t) for h in range(len(inside)) for t in range(len(inside))
                     if h != t and pair_allowed(inside[h][0].label, inside[t][0].label, inside[h][0].start,
                                                inside[t][0].start)]
            if not pairs:
                continue
            rel = self.model.relation_head(hidden, spans_t, torch.tensor(pairs, device=hidden.device))
            rp, rl = rel.softmax(-1).max(-1)
            for (h, t), label, prob in zip(pairs, rl.tolist(), rp.tolist()):
                key = (inside[h][0].id, inside[t][0].id)
                centrality = min(inside[h][2], inside[t][2])
                if key not in votes or centrality > votes[key][0]:
                    votes[key] = (centrality, label, prob)
        relations = [Relation(h, t, REL_CLASSES[label], round(prob, 4))
                     for (h, t), (_, label, prob) in sorted(votes.items()) if label]
        self.timings["relation_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        doc = self.group(Document("doc", tdoc.text, spans, relations), {k: v for k, (_, v) in reps.items()},
                         hidden_size=encoded["hidden"][d][0][1].size(-1), published=published)
        self.timings["grouping_s"] += time.perf_counter() - t0
        return doc

    def group(self, doc: Document, reps: dict[str, torch.Tensor], hidden_size: int,
              published: date | None = None) -> Document:
        """Trigger mentions -> events over the whole document (`grouping`), with `reps` the pooled
        encoding of each trigger mention (a mention wider than any window has none: zeros)."""
        contexts = mention_contexts(doc, triggers_of(doc))
        if self.grouping == "prior" or not contexts:
            return attach_arguments(apply_clusters(doc, contexts, cluster_prior(contexts)))
        pairs = candidate_pairs(contexts)
        prob = {}
        if pairs:
            head = self.model.event_head
            device = next(head.parameters()).device
            zero = torch.zeros(hidden_size)
            later = torch.stack([reps.get(contexts[i].span.id, zero).cpu() for i, _ in pairs]).to(device)
            earlier = torch.stack([reps.get(contexts[j].span.id, zero).cpu() for _, j in pairs]).to(device)
            sentences = torch.tensor([contexts[i].sentence - contexts[j].sentence for i, j in pairs], device=device)
            features = torch.tensor([pair_features(contexts[i], contexts[j]) for i, j in pairs], device=device)
            logits = head(later.float(), earlier.float(), sentences, features)
            prob = dict(zip(pairs, torch.sigmoid(logits).tolist()))
        if self.grouping == "consensus":
            clusters = cluster_consensus(contexts, prob, current_year=published.year if published else None)
        else:
            clusters = cluster_learned(contexts, prob)
        return attach_arguments(apply_clusters(doc, contexts, clusters))
