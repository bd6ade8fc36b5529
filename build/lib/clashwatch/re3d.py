"""The re3d corpus (Dstl, 2017) -> span-only Documents for an optional intermediate training stage.

re3d has entity types, not the clash-event spec's labels: three map onto span labels, the rest either
go to `meta["ignore"]` (no loss: the spec might give them a label there, so they must not be taught
as O) or are plain O. Its gold never counts for the clash-event metrics."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

from .corpus import load_export_json, read_json, task_from_document, write_json_atomic, write_text_atomic
from .schema import AnnotationError, Document, Span
from .validate import check_document, sentence_index

CORPUS_FILE = "re3d.json"
LICENCE_FILES = ("LICENSE", "ATTRIBUTION")
MAPPED, IGNORE, OUTSIDE = "mapped", "ignore", "O"

# re3d type -> (span label | IGNORE | OUTSIDE, reason); the README table is built from this
TYPE_MAP: dict[str, tuple[str, str]] = {
    "Location": ("LOCATION", "named places; descriptions without a name ('the city', 'targets') go to ignore"),
    "Temporal": ("TIME", "dates and times; durations ('two weeks', 'the past 24 hours') go to ignore"),
    "Weapon": ("WEAPON", "weapons; attack nouns ('strikes', 'bombardment') are CLASH triggers in the spec, so ignore"),
    "Organisation": (IGNORE, "ACTOR only when a party to an event; re3d has no events, so it cannot tell"),
    "Person": (IGNORE, "ACTOR when a named party or official acting in an event, else O; undecidable here"),
    "Nationality": (IGNORE, "can be ACTOR ('Kurdish' forces), LOCATION ('Afghan territory') or O"),
    "MilitaryPlatform": (IGNORE, "aircraft, tanks, helicopters are WEAPON when used in an attack, ships mostly not"),
    "Vehicle": (IGNORE, "vehicles can be weapons (VBIEDs, technicals); most re3d Vehicle offsets are broken anyway"),
    "Quantity": (IGNORE, "a count of people can be KILLED/INJURED/DISPLACED; re3d does not say which"),
    "DocumentReference": (IGNORE, "agreements and protocols ('the Minsk agreements') can be CEASEFIRE triggers"),
    "Coordinate": (IGNORE, "locates a place but is not a named place; LOCATION or O depending on the reading"),
    "Money": (OUTSIDE, "no spec label covers sums of money"),
    "Frequency": (OUTSIDE, "radio frequencies: no spec label"),
    "CommsIdentifier": (OUTSIDE, "phone numbers and handles: no spec label"),
    "Url": (OUTSIDE, "web addresses: no spec label"),
}
UNKNOWN_TYPE = (IGNORE, "a type this converter does not know: ignored to be safe")

# LICENSE wording -> licence name stored with every document
LICENCES = (
    ("Attribution-ShareAlike 3.0", "CC BY-SA 3.0"),
    ("Attribution 3.0 Australia", "CC BY 3.0 AU"),
    ("Open Government Licence v3.0", "OGL v3.0"),
    ("public domain", "public domain (US Government)"),
)

_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.I)
_PREPOSITION = re.compile(r"^(?:on|in|at|since|from|by|during|until|till|before|after)\s+", re.I)
_DETERMINERS = {"the", "this", "that", "these", "those", "its", "their", "there", "a", "an", "our", "his", "her"}
_ATTACK_NOUNS = {"strike", "strikes", "airstrike", "airstrikes", "bombardment", "bombardments", "attack", "attacks",
                 "bomber", "bombers", "bombing", "bombings"}
_NUMBER = r"(?:[\d.,]+(?:-plus)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few|several|many)"
_DURATION = re.compile(
    rf"^(?:the\s+)?(?:(?:past|last|next|first|coming)\s+)?{_NUMBER}\s+"
    r"(?:minute|hour|day|week|month|year|decade)s?$",
    re.I,
)
# a TIME needs a calendar or clock word, or a year/date-like number ("93rd anniversary", "'Z'" are not)
_TEMPORAL = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b"
    r"|\b(?:today|tonight|yesterday|tomorrow|morning|afternoon|evening|night|dawn|dusk|noon|midnight|hours?|days?"
    r"|weeks?|weekend|months?|years?|summer|winter|spring|autumn|ago|ramadan|thanksgiving)\b"
    r"|\b(?:1[0-9]|20)\d\d\b|\d\s*(?:a\.m|p\.m|b\.c)|\d[:.]\d\d\b",
    re.I,
)
# capitalised words that name no place: pronouns and the corpus's enemy and weapon acronyms
_NOT_NAMES = {"it", "isil", "isis", "daesh", "vbied", "vbieds", "ied", "ieds", "uav", "uavs"}
_EDGE = ",;:\"“”‘’'«»"
_ABBREVIATIONS = {"jan", "feb", "mar", "apr", "aug", "sep", "sept", "oct", "nov", "dec", "st", "gen", "col", "inc"}


def _read_lines(path: Path) -> list[dict]:
    """mongoexport JSON lines: one object per non-empty line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise AnnotationError(f"no such file: {path}", task=str(path), rule="file") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise AnnotationError(f"not JSON: {e}", task=str(path), item=f"line {number}", rule="json") from None
    return rows


def source_licence(folder: Path) -> str:
    """The licence of a re3d source folder, read from its LICENSE; both licence files must exist."""
    for name in LICENCE_FILES:
        if not (folder / name).is_file() or not (folder / name).read_text(encoding="utf-8").strip():
            raise AnnotationError(f"{folder / name} is missing or empty", task=folder.name, rule="licence")
    text = (folder / "LICENSE").read_text(encoding="utf-8")
    for wording, name in LICENCES:
        if wording.lower() in text.lower():
            return name
    raise AnnotationError(f"cannot tell the licence from {folder / 'LICENSE'}", task=folder.name, rule="licence")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding whitespace, quotes, commas and a final period (kept after 'Dec.', 'U.S.')."""
    while True:
        old = (start, end)
        while start < end and (text[start].isspace() or text[start] in _EDGE + "."):
            start += 1
        while start < end and (text[end - 1].isspace() or text[end - 1] in _EDGE):
            end -= 1
        if start < end and text[end - 1] == ".":
            word = re.search(r"([\w.]+)\.$", text[start:end])
            stem = word.group(1).lower() if word else ""
            if not (stem in _ABBREVIATIONS or "." in stem or len(stem) == 1):
                end -= 1
        if (start, end) == old:
            return start, end


def _refine(label: str, value: str, sentence_initial: bool) -> str:
    """The span label, or IGNORE where re3d's type is wider than the spec's label."""
    words = value.split()
    if label == "LOCATION":
        # a name is a capitalised word that is no determiner; a sentence-initial capital proves nothing
        parts = re.split(r"[\s\-’']+", value)[1 if sentence_initial else 0 :]
        if not any(w[:1].isupper() and w.lower() not in _DETERMINERS | _NOT_NAMES for w in parts):
            return IGNORE
    if label == "TIME" and (_DURATION.match(value) or not _TEMPORAL.search(value)):
        return IGNORE
    if label == "WEAPON" and words[-1].lower() in _ATTACK_NOUNS:
        return IGNORE
    return label


def _cuts_word(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isalnum() and text[start].isalnum()) or (
        end < len(text) and text[end - 1].isalnum() and text[end].isalnum()
    )


def _subtract(ranges: list[tuple[int, int]], spans: list[Span], text: str) -> list[list[int]]:
    """Merge ranges, cut out the kept spans (their tokens keep their labels), drop blank pieces."""
    covered = [False] * len(text)
    for start, end in ranges:
        covered[start:end] = [True] * (end - start)
    for s in spans:
        covered[s.start : s.end] = [False] * (s.end - s.start)
    pieces, start = [], None
    for i, flag in enumerate(covered + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if text[start:i].strip():
                pieces.append([start, i])
            start = None
    return pieces


def convert_document(record: dict, entities: list[dict], data: dict, counts: Counter) -> Document:
    """One re3d document and its entities -> a Document with spans and meta["ignore"]; `counts` tallies
    what happened to each entity."""
    text, rid = record["text"], str(record["_id"])
    sentences = sentence_index(text)
    candidates: list[tuple[int, int, str]] = []  # (start, end, span label | IGNORE)
    for e in entities:
        start, end, kind = e.get("begin"), e.get("end"), e.get("type")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
            counts["skipped: bad offsets"] += 1
            continue
        target, _ = TYPE_MAP.get(kind, UNKNOWN_TYPE)
        if target == OUTSIDE:
            counts[f"O: {kind}"] += 1
            continue
        # an annotator marked this range, so when it cannot be a span it still must not be taught as O
        if text[start:end] != e.get("value"):
            counts["ignored: value mismatch"] += 1
        elif _cuts_word(text, start, end):
            counts["ignored: offsets cut a word"] += 1
        elif target != IGNORE:
            s, t = _trim(text, start, end)
            # as in the project's gold: "VBIED" not "a VBIED"; TIME without a leading preposition
            lead = _ARTICLE if target in ("LOCATION", "WEAPON") else _PREPOSITION
            if match := lead.match(text[s:t]):
                s += match.end()
            if s >= t:
                counts["ignored: empty after trimming"] += 1
            elif len({sentences[i] for i in range(s, t)}) > 1:
                counts["ignored: crosses a sentence boundary"] += 1
            elif (label := _refine(target, text[s:t], s == 0 or sentences[s - 1] != sentences[s])) == IGNORE:
                counts[f"ignored: {kind} outside {target}"] += 1
            else:
                candidates.append((s, t, label))
                continue
        else:
            counts[f"ignored: {kind}"] += 1
        candidates.append((start, end, IGNORE))

    # spans must not overlap: the longest range wins, so a mapped span inside a longer ignored entity loses
    # ("U.S." in "U.S. Central Command" is no LOCATION the spec would mark); on a tie the ignored type wins:
    # re3d reads that text two ways ("Iraq" as Location and Organisation is a country acting as a party)
    accepted: list[tuple[int, int, str]] = []
    ignore: list[tuple[int, int]] = []
    for start, end, label in sorted(set(candidates), key=lambda c: (c[0] - c[1], c[2] != IGNORE, c[0])):
        if any(start < e and s < end for s, e, _ in accepted):
            counts["ignored: overlaps a longer or ambiguous entity"] += label != IGNORE
            ignore.append((start, end))
            continue
        accepted.append((start, end, label))
        if label == IGNORE:
            ignore.append((start, end))
    mapped = sorted(c for c in accepted if c[2] != IGNORE)
    spans = [Span(f"T{n}", s, e, label, text[s:e]) for n, (s, e, label) in enumerate(mapped, 1)]
    doc = Document(doc_id=f"re3d-{rid}", text=text, spans=spans, meta={"data": {**data, "re3d_id": rid}})
    doc.meta["ignore"] = _subtract(ignore, spans, text)
    errors = check_document(doc)
    if errors:
        raise errors[0]
    return doc


def convert_source(folder: str | Path, counts: Counter | None = None) -> list[Document]:
    """Every document of one re3d source folder (documents.json + entities.json)."""
    folder = Path(folder)
    counts = counts if counts is not None else Counter()
    licence = source_licence(folder)
    by_doc: dict[str, list[dict]] = {}
    for e in _read_lines(folder / "entities.json"):
        by_doc.setdefault(str(e.get("documentId")), []).append(e)
    docs = []
    for record in _read_lines(folder / "documents.json"):
        if not isinstance(record.get("text"), str) or not record["text"].strip() or not record.get("_id"):
            raise AnnotationError(
                "document without _id or text", task=folder.name, item=str(record.get("_id")), rule="shape"
            )
        data = {"source": folder.name, "licence": licence, "url": record.get("sourceUrl")}
        docs.append(convert_document(record, by_doc.pop(str(record["_id"]), []), data, counts))
    if orphans := sum(len(v) for v in by_doc.values()):
        counts["skipped: entity of an unknown document"] += orphans
    return docs


def _tasks(docs: list[Document]) -> list[dict]:
    """Label Studio tasks; the ignore ranges travel in data.ignore (data extras survive round trips)."""
    tasks = []
    for n, doc in enumerate(docs, 1):
        data = {**doc.meta["data"], "ignore": doc.meta["ignore"]}
        with_ignore = Document(doc.doc_id, doc.text, doc.spans, [], {"data": data})
        tasks.append(task_from_document(with_ignore, task_id=n))
    return tasks


def stats(docs: list[Document], counts: Counter | None = None) -> dict:
    labels = Counter(s.label for d in docs for s in d.spans)
    return {
        "documents": len(docs),
        "documents_per_source": dict(Counter(d.meta["data"]["source"] for d in docs)),
        "spans": dict(sorted(labels.items())),
        "ignored_ranges": sum(len(d.meta["ignore"]) for d in docs),
        "entities": dict(sorted((counts or {}).items())),
    }


def convert_re3d(src: str | Path, out: str | Path) -> dict:
    """Convert every source folder under `src` into `out`: the licence files first, then re3d.json
    (validated before it is written) and README.md. Returns the counts."""
    src, out = Path(src), Path(out)
    folders = sorted(p for p in src.iterdir() if (p / "documents.json").is_file()) if src.is_dir() else []
    if not folders:
        raise AnnotationError(f"no re3d source folders (with documents.json) under {src}", task=str(src), rule="file")
    counts: Counter = Counter()
    docs = [d for folder in folders for d in convert_source(folder, counts)]
    tasks = _tasks(docs)
    load_export_json(tasks, str(out / CORPUS_FILE))
    for folder in folders:
        for name in LICENCE_FILES:
            (out / folder.name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / name, out / folder.name / f".{name}.tmp")
            os.replace(out / folder.name / f".{name}.tmp", out / folder.name / name)
    result = stats(docs, counts)
    write_json_atomic(out / CORPUS_FILE, tasks)
    write_text_atomic(out / "README.md", _readme(result, {f.name: source_licence(f) for f in folders}))
    return result


def load_re3d_documents(path: str | Path) -> list[Document]:
    """Read a derived re3d corpus (re3d.json or its folder): validate the export, require every
    source's LICENSE and ATTRIBUTION next to it, and move data.ignore into meta["ignore"]."""
    path = Path(path)
    path = path / CORPUS_FILE if path.is_dir() else path
    docs = load_export_json(read_json(path), str(path))
    for doc in docs:
        data = doc.meta["data"]
        source = data.get("source")
        if not source or not data.get("licence"):
            raise AnnotationError("no source or licence in the task data", task=doc.doc_id, rule="licence")
        for name in LICENCE_FILES:
            if not (path.parent / source / name).is_file():
                raise AnnotationError(
                    f"{path.parent / source / name} is missing: derived re3d data must travel with its licence",
                    task=doc.doc_id, rule="licence",
                )
        ignore = data.pop("ignore", [])
        if not isinstance(ignore, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(type(x) is int for x in r) and 0 <= r[0] < r[1] <= len(doc.text)
            for r in ignore
        ):
            raise AnnotationError(
                "data.ignore must be a list of [start, end] inside the text", task=doc.doc_id, rule="ignore"
            )
        doc.meta["ignore"] = ignore
    return docs


def _readme(result: dict, licences: dict[str, str]) -> str:
    rows = "\n".join(f"| {kind} | {target} | {reason} |" for kind, (target, reason) in TYPE_MAP.items())
    sources = "\n".join(
        f"| {name} | {result['documents_per_source'].get(name, 0)} | {licence} "
        f"| `{name}/LICENSE`, `{name}/ATTRIBUTION` |"
        for name, licence in licences.items()
    )
    spans = ", ".join(f"{label} {n}" for label, n in result["spans"].items())
    entities = "\n".join(f"- {what}: {n}" for what, n in result["entities"].items())
    return f"""# re3d, converted to the clash-event span labels (derived data)

Built by `clashwatch annotations convert-re3d --src ../shared/corpora/re3d --out annotations/re3d`
(`src/clashwatch/re3d.py`) from the permissively licensed subset of re3d (Dstl, 2017: documents on
the conflict in Syria and Iraq, entities annotated by Aleph Insights with Committed Software on behalf
of Dstl). Do not edit `re3d.json` by hand; rerun the command.

Use: an optional intermediate training stage (`clashwatch.re3d.load_re3d_documents`). It is related
data, never gold for the clash-event metrics: re3d marks every location, time and weapon, the spec
only those that take part in a clash or ceasefire event, and re3d has no triggers, figures or relations.

## Contents

`re3d.json` is a Label Studio JSON export that passes `clashwatch annotations validate`:
{result['documents']} documents, spans only ({spans}), no relations.
Each task's data carries `source`, `re3d_id`, `licence`, `url` and `ignore`: `[[start, end], ...]`
character ranges ({result['ignored_ranges']} in all) whose tokens get no loss (`Document.meta["ignore"]`), so the
tagger is not taught O where the spec might have a label.

## Label mapping

| re3d type | here | why |
|---|---|---|
{rows}

Mapped spans are trimmed as the spec says (whitespace, quotes, commas, a final period); LOCATION and
WEAPON lose a leading article ("a VBIED" -> "VBIED", as in the project's gold), TIME a leading
preposition. Spans must not overlap: the longest entity wins, so a mapped entity inside a longer
ignored one is ignored with it ("U.S." inside "U.S. Central Command"); on the same text the ignored
type wins ("Iraq" typed both Location and Organisation is a country acting as a party: maybe ACTOR).
Ranges that cannot be spans (value not equal to the text, offsets cutting a word, crossing a sentence
boundary, overlap lost) go to `ignore` too: an annotator marked something there. re3d's `confidence`
is not used (it is 0 on many correct entities).

What happened to the {sum(result['entities'].values())} entities:

{entities}

## Licences

| source | documents | licence | files |
|---|---|---|---|
{sources}

Every source folder's LICENSE and ATTRIBUTION travel with this derived corpus, and
`load_re3d_documents` refuses to load it when one is missing.

Share-alike: the `wikipedia` documents are CC BY-SA 3.0, so `re3d.json` (which contains them, with
derived annotations) and any other adapted material built from them must be shared under CC BY-SA 3.0
or a compatible licence, with the attribution in `wikipedia/ATTRIBUTION` and each document's source
URL (data.url). The other sources (public domain, OGL v3.0, CC BY 3.0 AU) allow that, given their
attribution. Whether trained weights are adapted material is unsettled: name re3d and its sources in
the model card of any model trained on it.
"""
