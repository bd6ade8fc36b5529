"""Documents -> model inputs: sub-word IOB2 tags through offset mappings, overlapping windows over
the whole document (tokenised once), and the relation candidates of each window."""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field

from .schema import RELATION_LABELS, SPAN_LABELS, Document, allowed_relations

IOB_LABELS = ("O",) + tuple(f"{p}-{label}" for label in SPAN_LABELS for p in ("B", "I"))
LABEL2ID = {label: i for i, label in enumerate(IOB_LABELS)}
ID2LABEL = dict(enumerate(IOB_LABELS))
SPAN2ID = {label: i for i, label in enumerate(SPAN_LABELS)}
REL_CLASSES = ("none",) + RELATION_LABELS
REL2ID = {label: i for i, label in enumerate(REL_CLASSES)}
IGNORE = -100


def pair_allowed(head_label: str, tail_label: str, head_start: int, tail_start: int) -> bool:
    """A candidate pair: the spec allows some relation, and a same_event-only pair points backwards."""
    labels = allowed_relations(head_label, tail_label)
    if not labels:
        return False
    return labels != ("same_event",) or head_start > tail_start


@dataclass
class TokenizedDoc:
    """A whole document tokenised once (no special tokens)."""

    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]
    word_first: list[bool]  # the first sub-token of a word carries the tag
    word_end: list[int]  # end char of the word each token belongs to
    ends: list[int] = field(default_factory=list)  # offsets[i][1], running max, for bisect

    def __post_init__(self):
        if not self.ends:
            running = 0
            for _, b in self.offsets:
                running = max(running, b)
                self.ends.append(running)

    def __len__(self) -> int:
        return len(self.ids)


def _tokenized(text: str, ids, offsets, words) -> TokenizedDoc:
    offsets = [tuple(o) for o in offsets]
    first = [w is None or i == 0 or words[i - 1] != w for i, w in enumerate(words)]
    word_end, end = [0] * len(offsets), 0
    for i in range(len(offsets) - 1, -1, -1):
        if i == len(offsets) - 1 or first[i + 1] or words[i] is None:
            end = offsets[i][1]
        word_end[i] = max(end, offsets[i][1])
    return TokenizedDoc(text, list(ids), offsets, first, word_end)


def tokenize_document(text: str, tokenizer) -> TokenizedDoc:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    return _tokenized(text, enc["input_ids"], enc["offset_mapping"], enc.word_ids())


def tokenize_documents(texts: list[str], tokenizer) -> list[TokenizedDoc | None]:
    """`tokenize_document` for many texts in one call of the (multi-threaded) fast tokenizer; blank
    texts give None."""
    keep = [i for i, t in enumerate(texts) if t.strip()]
    out: list[TokenizedDoc | None] = [None] * len(texts)
    if keep:
        enc = tokenizer([texts[i] for i in keep], add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        for n, i in enumerate(keep):
            out[i] = _tokenized(texts[i], enc["input_ids"][n], enc["offset_mapping"][n], enc.word_ids(n))
    return out


def window_ranges(n_tokens: int, body: int, stride: int) -> list[tuple[int, int]]:
    """Token ranges [start, end) of overlapping windows covering n_tokens."""
    if n_tokens <= body:
        return [(0, n_tokens)]
    step = body - stride
    ranges, start = [], 0
    while True:
        end = min(start + body, n_tokens)
        ranges.append((start, end))
        if end == n_tokens:
            return ranges
        start += step


@functools.lru_cache(maxsize=8)  # asked once per document; the answer depends on the tokenizer only
def special_layout(tokenizer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The special token ids a single sequence gets before and after its body."""
    body = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for k in range(len(full) - len(body) + 1):
        if full[k : k + len(body)] == body:
            return tuple(full[:k]), tuple(full[k + len(body) :])
    raise ValueError("cannot find where the tokenizer puts its special tokens")


def owner_windows(n_tokens: int, ranges: list[tuple[int, int]]) -> list[int]:
    """For each token, the window where it has the most context on both sides (SQuAD's max-context rule)."""
    owner, best = [0] * n_tokens, [-1] * n_tokens
    for w, (s, e) in enumerate(ranges):
        for i in range(s, e):
            score = min(i - s, e - 1 - i)
            if score > best[i]:
                best[i], owner[i] = score, w
    return owner


def make_windows(tdoc: TokenizedDoc, tokenizer, max_length: int, stride: int) -> list[dict]:
    prefix, suffix = special_layout(tokenizer)
    body = max_length - len(prefix) - len(suffix)
    windows = []
    for s, e in window_ranges(len(tdoc), body, stride):
        ids = [*prefix, *tdoc.ids[s:e], *suffix]
        windows.append({"input_ids": ids, "token_start": s, "token_end": e, "prefix": len(prefix)})
    return windows


def span_token_range(tdoc: TokenizedDoc, start: int, end: int) -> tuple[int, int] | None:
    """First and last token (inclusive) overlapping characters [start, end)."""
    i = max(0, bisect.bisect_right(tdoc.ends, start) - 1)
    toks = []
    while i < len(tdoc) and tdoc.offsets[i][0] < end:
        a, b = tdoc.offsets[i]
        if b > a and b > start:
            toks.append(i)
        i += 1
    return (toks[0], toks[-1]) if toks else None


def _token_tags(doc: Document, tdoc: TokenizedDoc) -> list[int]:
    tags = [IGNORE] * len(tdoc)
    spans = doc.sorted_spans()
    ignore = [tuple(r) for r in (doc.meta.get("ignore") or [])]
    k = 0
    for i, (a, b) in enumerate(tdoc.offsets):
        if b <= a or not tdoc.word_first[i]:
            continue
        if any(a < r_end and b > r_start for r_start, r_end in ignore):
            continue
        while k < len(spans) and spans[k].end <= a:
            k += 1
        if k < len(spans) and spans[k].start < b:
            span = spans[k]
            inside_before = any(tdoc.word_first[j] and tdoc.offsets[j][1] > span.start for j in _prev(i, tdoc, span.start))
            tags[i] = LABEL2ID[("I-" if inside_before else "B-") + span.label]
        else:
            tags[i] = LABEL2ID["O"]
    return tags


def _prev(i: int, tdoc: TokenizedDoc, start: int):
    j = i - 1
    while j >= 0 and tdoc.offsets[j][1] > start:
        yield j
        j -= 1


def encode_document(doc: Document, tokenizer, max_length: int = 256, stride: int = 64, weight: float = 1.0,
                    with_relations: bool = True) -> list[dict]:
    """Training windows of a gold document: tags, gold spans (token ranges) and labelled candidate pairs."""
    tdoc = tokenize_document(doc.text, tokenizer)
    tags = _token_tags(doc, tdoc)
    spans = []
    for s in doc.sorted_spans():
        rng = span_token_range(tdoc, s.start, s.end)
        if rng is not None:
            spans.append((s, rng))
    gold = {(r.head, r.tail): REL2ID[r.label] for r in doc.relations}
    windows = []
    for w in make_windows(tdoc, tokenizer, max_length, stride):
        s0, e0, prefix = w["token_start"], w["token_end"], w["prefix"]
        labels = [IGNORE] * prefix + tags[s0:e0]
        labels += [IGNORE] * (len(w["input_ids"]) - len(labels))
        inside = [(s, (a - s0 + prefix, b - s0 + prefix)) for s, (a, b) in spans if a >= s0 and b < e0]
        pairs = []
        if with_relations:
            for hi, (h, _) in enumerate(inside):
                for ti, (t, _) in enumerate(inside):
                    if hi != ti and pair_allowed(h.label, t.label, h.start, t.start):
                        pairs.append([hi, ti, gold.get((h.id, t.id), 0)])
        windows.append({
            "doc_id": doc.doc_id,
            "input_ids": w["input_ids"],
            "labels": labels,
            "spans": [[a, b, SPAN2ID[s.label]] for s, (a, b) in inside],
            "pairs": pairs,
            "weight": float(weight),
        })
    return windows


def build_dataset(docs: list[Document], tokenizer, max_length: int = 256, stride: int = 64,
                  weights: list[float] | None = None, with_relations: bool = True):
    """A Hugging Face `datasets.Dataset` of training windows (one row per window)."""
    import datasets

    rows = []
    for i, doc in enumerate(docs):
        w = weights[i] if weights is not None else 1.0
        rows += encode_document(doc, tokenizer, max_length, stride, w, with_relations)
    features = datasets.Features({
        "doc_id": datasets.Value("string"),
        "input_ids": datasets.Sequence(datasets.Value("int32")),
        "labels": datasets.Sequence(datasets.Value("int32")),
        "spans": datasets.Sequence(datasets.Sequence(datasets.Value("int32"))),
        "pairs": datasets.Sequence(datasets.Sequence(datasets.Value("int32"))),
        "weight": datasets.Value("float32"),
    })
    return datasets.Dataset.from_list(rows, features=features)


def pad_batch(rows: list[dict], pad_id: int):
    """input_ids and attention_mask tensors [B, longest window] for a batch of windows."""
    import torch

    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r["input_ids"])] = torch.as_tensor(r["input_ids"])
        mask[i, : len(r["input_ids"])] = 1
    return ids, mask


def sorted_windows(tdocs: list["TokenizedDoc | None"], tokenizer, max_length: int, stride: int):
    """Windows of many documents as (doc index, window index, window), sorted by length so batches
    carry little padding, and per document the window that owns each token (None for empty docs)."""
    windows, owners = [], []
    for d, tdoc in enumerate(tdocs):
        if tdoc is None or not len(tdoc):
            owners.append(None)
            continue
        ws = make_windows(tdoc, tokenizer, max_length, stride)
        owners.append(owner_windows(len(tdoc), [(w["token_start"], w["token_end"]) for w in ws]))
        windows += [(d, k, w) for k, w in enumerate(ws)]
    windows.sort(key=lambda x: len(x[2]["input_ids"]))
    return windows, owners


def window_tags(tdoc: "TokenizedDoc", window: dict, best: list[int], best_p: list[float]):
    """token index -> (tag id, probability) for the word-first tokens of one window's predictions."""
    out = {}
    for tok in range(window["token_start"], window["token_end"]):
        if tdoc.word_first[tok] and tdoc.offsets[tok][1] > tdoc.offsets[tok][0]:
            j = tok - window["token_start"] + window["prefix"]
            out[tok] = (best[j], best_p[j])
    return out


def collate(rows: list[dict], pad_id: int) -> dict:
    """Pad a batch of windows; spans and pairs stay per-window lists."""
    import torch

    ids, mask = pad_batch(rows, pad_id)
    labels = torch.full(ids.shape, IGNORE, dtype=torch.long)
    for i, r in enumerate(rows):
        labels[i, : len(r["labels"])] = torch.as_tensor(r["labels"])
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": labels,
        "spans": [torch.as_tensor(r["spans"], dtype=torch.long).reshape(-1, 3) for r in rows],
        "pairs": [torch.as_tensor(r["pairs"], dtype=torch.long).reshape(-1, 3) for r in rows],
        "weight": torch.as_tensor([r["weight"] for r in rows], dtype=torch.float),
    }
