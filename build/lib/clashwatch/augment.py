"""Augmentation for a scarce gold corpus: gazetteer substitution of actors, places, figures and dates
(offsets of every span, relation and ignore range kept right), and sentence-window sampling.

The gazetteer is the training documents' own span texts (no built-in list: one made from the seed
articles would leak a held-out article's names into its fold), and a YAML file {LABEL: [entries]} can
add more."""

from __future__ import annotations

import copy
import random
import re
from pathlib import Path

import yaml

from .normalize import MONTHS, WEEKDAYS
from .schema import ConfigError, Document, Span
from .validate import sentence_bounds

GAZETTEER_LABELS = ("ACTOR", "LOCATION", "WEAPON")  # substituted from the gazetteer; figures and dates are rewritten
# the number words a substituted figure may take (plural counts: "one" would break the noun's agreement)
FIGURE_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "fifteen", "twenty", "thirty", "forty", "fifty"]
SUBSTITUTED = ("ACTOR", "LOCATION", "WEAPON", "TIME", "KILLED", "INJURED", "DISPLACED")


def load_gazetteer(path: str | Path | None, docs: list[Document] = ()) -> dict[str, list[str]]:
    """The span texts of `docs` (the training documents only: in cross-validation a held-out article's
    names never enter its own training data) + an optional YAML file."""
    gaz: dict[str, list[str]] = {label: [] for label in GAZETTEER_LABELS}
    for doc in docs:
        for s in doc.spans:
            if s.label in gaz and s.text not in gaz[s.label]:
                gaz[s.label].append(s.text)
    if path is not None:
        try:
            extra = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read gazetteer {path}: {e}") from None
        if not isinstance(extra, dict) or not all(isinstance(v, list) for v in extra.values()):
            raise ConfigError(f"gazetteer {path} must map labels to lists of strings")
        for label, items in extra.items():
            gaz.setdefault(str(label), []).extend(str(i) for i in items if str(i).strip())
    return gaz


def _word_case(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


def _substitute_figure(text: str, rng: random.Random) -> str:
    def number(m: re.Match) -> str:
        value = rng.choice([rng.randint(2, 60), rng.randint(60, 500), rng.randint(1000, 20000)])
        return f"{value:,}" if "," in m.group(0) or value >= 10000 else str(value)

    out, n = re.subn(r"\d[\d,]*", number, text, count=1)
    if n:
        return out
    words = "|".join(sorted(FIGURE_WORDS, key=len, reverse=True))
    return re.sub(rf"\b({words})\b", lambda m: _word_case(rng.choice(FIGURE_WORDS), m.group(0)), text, count=1,
                  flags=re.IGNORECASE)


def _substitute_time(text: str, rng: random.Random) -> str:
    for names in (WEEKDAYS, MONTHS):
        pattern = r"\b(" + "|".join(names) + r")\b"
        if re.search(pattern, text):
            text = re.sub(pattern, lambda m: rng.choice(names), text)
    return re.sub(r"\b([1-9]|[12]\d|3[01])\b(?!:)", lambda m: str(rng.randint(1, 28)), text, count=1)


def substitute(doc: Document, gazetteer: dict[str, list[str]], rng: random.Random, p: float = 0.7) -> Document:
    """A copy of `doc` whose actor/place/weapon spans are replaced from the gazetteer and whose figures
    and dates get other numbers; one text gets one replacement throughout the copy."""
    chosen: dict[tuple[str, str], str] = {}
    edits: list[tuple[Span, str]] = []
    for s in doc.sorted_spans():
        if s.label not in SUBSTITUTED or rng.random() > p:
            continue
        key = (s.label, s.text)
        if key not in chosen:
            if s.label in gazetteer and gazetteer[s.label]:
                options = [g for g in gazetteer[s.label] if g != s.text] or gazetteer[s.label]
                chosen[key] = rng.choice(options)
            elif s.label == "TIME":
                chosen[key] = _substitute_time(s.text, rng)
            else:
                chosen[key] = _substitute_figure(s.text, rng)
        if chosen[key] != s.text:
            edits.append((s, chosen[key]))
    return _apply_edits(doc, edits, suffix="sub")


def _apply_edits(doc: Document, edits: list[tuple[Span, str]], suffix: str) -> Document:
    new = copy.deepcopy(doc)
    by_id = new.span_by_id()
    pieces, shift, cursor = [], 0, 0
    moves: list[tuple[int, int]] = []  # (old position, delta from there on)
    for span, replacement in sorted(edits, key=lambda e: e[0].start):
        pieces += [doc.text[cursor : span.start], replacement]
        cursor = span.end
        target = by_id[span.id]
        target.start, target.end, target.text = span.start + shift, span.start + shift + len(replacement), replacement
        shift += len(replacement) - (span.end - span.start)
        moves.append((span.end, shift))
    pieces.append(doc.text[cursor:])
    new.text = "".join(pieces)

    def moved(pos: int) -> int:
        delta = 0
        for at, d in moves:
            if pos >= at:
                delta = d
        return pos + delta

    edited = {s.id for s, _ in edits}
    for s in new.spans:
        if s.id not in edited:
            s.start, s.end = moved(s.start), moved(s.end)
    if new.meta.get("ignore"):
        new.meta["ignore"] = [[moved(a), moved(b)] for a, b in new.meta["ignore"]]
    new.doc_id = f"{doc.doc_id}#{suffix}"
    return new


def sentence_window(doc: Document, rng: random.Random, sizes: tuple[int, int] = (2, 6)) -> Document | None:
    """A random run of consecutive sentences with the spans inside it and the relations among them."""
    bounds = sentence_bounds(doc.text)
    if len(bounds) < 2:
        return None
    size = rng.randint(min(sizes), max(sizes))
    first = rng.randrange(0, max(1, len(bounds) - size + 1))
    last = min(len(bounds), first + size) - 1
    start, end = bounds[first][0], bounds[last][1]
    new = Document(doc_id=f"{doc.doc_id}#win{first}-{last}", text=doc.text[start:end], meta=copy.deepcopy(doc.meta))
    for s in doc.spans:
        if s.start >= start and s.end <= end:
            new.spans.append(Span(s.id, s.start - start, s.end - start, s.label, s.text, s.score))
    kept = {s.id for s in new.spans}
    new.relations = [copy.copy(r) for r in doc.relations if r.head in kept and r.tail in kept]
    if doc.meta.get("ignore"):
        new.meta["ignore"] = [[max(a, start) - start, min(b, end) - start] for a, b in doc.meta["ignore"]
                              if a < end and b > start]
    return new if new.spans else None


def augment_documents(docs: list[Document], cfg, gazetteer: dict[str, list[str]] | None = None) -> list[Document]:
    """Extra documents (the originals are not included) as the `augment:` section of the config asks."""
    if not cfg.enabled:
        return []
    rng = random.Random(cfg.seed)
    gazetteer = gazetteer if gazetteer is not None else load_gazetteer(cfg.gazetteer, docs)
    extra: list[Document] = []
    for doc in docs:
        copies = [substitute(doc, gazetteer, rng) for _ in range(cfg.copies)] if cfg.substitution else []
        for i, c in enumerate(copies):
            c.doc_id = f"{doc.doc_id}#sub{i}"
        extra += copies
        if cfg.sentence_windows:
            for source in [doc] + copies:
                for _ in range(cfg.windows_per_doc if source is doc else max(1, cfg.windows_per_doc // 2)):
                    w = sentence_window(source, rng, cfg.window_sentences)
                    if w is not None:
                        extra.append(w)
    return extra
