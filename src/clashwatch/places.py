"""Places and names as the guidelines have them (§2, §5, §8.9-10), applied to decoded spans.

The tagger finds the words; these rules give them the extent and the role the spec asks for, each
checked against the annotation of every gold and synthetic article (the decoder's round-trip test):

- containers are their own spans ("Batken's Leilik district" -> "Batken" + "Leilik district"), a compass
  adjective stays out ("western Batken region"), a name keeps the type noun after it ("Batken" + "region")
  and loses a "type of" before it ("town of Voruj" -> "Voruj");
- a nationality adjective is no place ("fired at Tajik residents"; "the Kyrgyz region of Batkén" names
  Batkén), told from a country by the model's lexicon (`lexicon.py`);
- "the border of Kyrgyzstan and Tajikistan" is one place;
- a spaced dash parts two phrases, and a dateline glued to a name goes ("Alwaght- Tajikistan");
  "Tajikistan and Kyrgyzstan" is two names unless the training documents annotate the pair whole;
- names joined by "and" share one role, a place after "by" is the side that acted ("an invasion attempt
  by Dushanbe"), the possessor of a place is a place ("Tajikistan's Surkh jamoat").

Spans are dicts with start, end, label and probs (the tag probabilities of their words)."""

from __future__ import annotations

import re

from .lexicon import TYPE_NOUNS, Lexicon, and_parts

NAME_LABELS = ("ACTOR", "LOCATION")
_SPACE = r"[^\S\n]+"  # spaces that do not leave the line

_COMPASS = r"(?:(?:north|south)(?:-?(?:east|west))?|east|west)(?:ern)?|central"
_LEADING_COMPASS = re.compile(rf"(?:{_COMPASS})\s+(?=[A-Z])")
# "Batken's Leilik district", "Ukraine's Donetsk Oblast": a possessor and a named place of a lower order,
# each its own span; a possessive inside one name ("People's Republic of China", "St Martin's Island") is
# left alone, since no capitalised name stands between it and a type noun
_ADMIN_NOUN = "(?:%s)" % "|".join(f"[{n[0].upper()}{n[0]}]{n[1:]}" for n in TYPE_NOUNS)
_POSSESSIVE_PLACE = re.compile(rf"[’']s\s+(?:(?:{_COMPASS})\s+)?(?=[A-Z][^’']*\s{_ADMIN_NOUN}(?:[’']s\b|$))")

# a dash with a space after it, or one set off by spaces, parts two phrases; "Kyrgyz-Tajik" is one word and
# "Russian- and Turkish-backed forces" one phrase
_SPACED_DASH = re.compile(r"\s*[-–—]\s+(?!(?:and|or|to)\b)|\s+[-–—]\s*")

# "border of Kyrgyzstan and Tajikistan" is one place; "border between Congo's North Kivu province and
# Rwanda's Rubavu district" names four
_BORDER_OF = re.compile(rf"\b[Bb]orders?{_SPACE}(?:of|between){_SPACE}(?:the{_SPACE})?$")
_AND = re.compile(rf"{_SPACE}and{_SPACE}(?:the{_SPACE})?")
_NAMES_AND = re.compile(rf"{_SPACE}and{_SPACE}")

# 63 of the 64 names after "by" in the gold and synthetic corpus are the side that acted; the other is
# "surrounded by Kyrgyzstan's Batken district"
_BY = re.compile(rf"{_SPACE}by{_SPACE}$")
_SPATIAL_BY = re.compile(r"(?i:\b(?:surrounded|bordered|flanked|encircled|ringed|separated))[^.,;\n]{0,30}\s+by\s+$")

# "the town of Voruj", "the Kyrgyz village of Kalacha": only the name; "national waters of Karunde" is a
# description with a named country, which counts, like the border
_TYPE_OF = re.compile(r"(?:(?P<adj>[A-Z][\w’'-]*)\s+)?(?:[a-z][\w-]*\s+)*?(?:%s)\s+of\s+(?=[A-Z])" % "|".join(TYPE_NOUNS))
# "in the Batken region": no gold or synthetic place leaves out the type noun after its name; "state" is
# more often an adjective ("Tajikistan state media")
_TYPE_AFTER = re.compile(r" (?:%s)(?![\w-])" % "|".join(n for n in TYPE_NOUNS if n != "state"))


def _mean(span: dict) -> float:
    return sum(span["probs"]) / len(span["probs"])


def _is_name(text: str, span: dict) -> bool:
    return all(w[:1].isupper() for w in text[span["start"]:span["end"]].split())


def location_pieces(text: str, span: dict) -> list[dict]:
    """A LOCATION parted at a possessive before a named place ("Batken's Leilik district" -> "Batken" +
    "Leilik district"), each piece without a leading compass adjective ("western Batken region")."""
    start, end = span["start"], span["end"]
    pieces = []
    while m := _POSSESSIVE_PLACE.search(text[:end], start):
        pieces.append((start, m.start()))
        start = m.end()
    pieces.append((start, end))
    out = []
    for a, b in pieces:
        if c := _LEADING_COMPASS.match(text, a, b):
            a = c.end()
        if a < b:
            out.append({**span, "start": a, "end": b})
    return out


def _is_dateline(text: str, start: int, dash: re.Match) -> bool:
    """A piece from a line's start to a dash glued to it ("Alwaght-") or in capitals ("KABUL —")."""
    at_line_start = start == 0 or text[start - 1] == "\n"
    return at_line_start and (not dash.group(0)[0].isspace() or text[start:dash.start()].isupper())


def and_pieces(text: str, span: dict, lexicon: Lexicon | None) -> list[dict]:
    """"Tajikistan and Kyrgyzstan" as one actor or place is two (§2: coordinated names are split), unless
    the training documents annotate it whole ("Jammu and Kashmir")."""
    words = text[span["start"]:span["end"]]
    if not and_parts(words) or (lexicon and lexicon.is_and_name(words)):
        return [span]
    first_end = span["start"] + words.index(" and ")
    return [{**span, "end": first_end}, {**span, "start": first_end + len(" and ")}]


def dash_pieces(text: str, span: dict) -> list[dict]:
    """An actor or a place parted at a spaced dash, without a dateline or an outlet's tag (§5)."""
    out, start = [], span["start"]
    for m in [*_SPACED_DASH.finditer(text, span["start"], span["end"]), None]:
        end = m.start() if m else span["end"]
        if end > start and not (m and _is_dateline(text, start, m)):
            out.append({**span, "start": start, "end": end})
        start = m.end() if m else start
    return out


def _chains(text: str, spans: list[dict]) -> list[list[dict]]:
    """Runs of actor or place spans, names joined by "and" ("Osh and Batken and Dushanbe") in one run."""
    chains: list[list[dict]] = []
    for s in spans:
        last = chains[-1][-1] if chains else None
        if (last and s["label"] in NAME_LABELS and last["label"] in NAME_LABELS and _is_name(text, s)
                and _is_name(text, last) and _NAMES_AND.fullmatch(text, last["end"], s["start"])):
            chains[-1].append(s)
        else:
            chains.append([s])
    return chains


def _name_roles(text: str, spans: list[dict]) -> list[dict]:
    """Names joined by "and" share a role, the surest one's ("Tajikistan and Kyrgyzstan have agreed": not a
    place and an actor), an actor's after "by" (not "surrounded by"); the possessor of a place is a place.
    In the gold and synthetic corpus 410 of 412 actor or place names joined by "and" share their label (the
    two others are no pair of names) and 54 of 54 possessors of a place are places; names of two clauses
    ("Shelling hit Batken and Tajikistan blamed ...") are the rare case this gets wrong."""
    out = []
    for chain in _chains(text, [dict(s) for s in spans]):
        labels = {s["label"] for s in chain}
        if "LOCATION" in labels and _BY.search(text, max(0, chain[0]["start"] - 10), chain[0]["start"]) \
                and not _SPATIAL_BY.search(text, max(0, chain[0]["start"] - 60), chain[0]["start"]):
            labels = {"ACTOR"}
        elif labels == set(NAME_LABELS):
            labels = {max(chain, key=_mean)["label"]}
        if len(labels) == 1:
            for s in chain:
                s["label"] = next(iter(labels))
        out.extend(chain)
    for a, b in zip(out, out[1:]):
        if a["label"] == "ACTOR" and b["label"] == "LOCATION" and _is_name(text, a) \
                and re.fullmatch(r"[’']s\s+", text[a["end"]:b["start"]]):
            a["label"] = "LOCATION"
    return out


def _merge_borders(text: str, spans: list[dict]) -> list[dict]:
    """"border of Kyrgyzstan and Tajikistan" as one LOCATION, unless a possessive makes it four places."""
    out: list[dict] = []
    for s in spans:
        a = out[-1] if out else None
        border = _BORDER_OF.search(text, max(0, a["start"] - 40), a["start"]) if a else None
        if (border and s["label"] == a["label"] == "LOCATION" and _AND.fullmatch(text, a["end"], s["start"])
                and not re.search(r"[’']s\b", text[border.start():s["end"] + 2])
                and not any(o["end"] > border.start() for o in out[:-1])):
            out[-1] = {**a, "start": border.start(), "end": s["end"], "probs": a["probs"] + s["probs"]}
        else:
            out.append(s)
    return out


def _with_type_nouns(text: str, spans: list[dict]) -> list[dict]:
    """A LOCATION takes the type noun after its name ("Batken" + " region"), short of the next span."""
    out = []
    for i, s in enumerate(spans):
        limit = spans[i + 1]["start"] if i + 1 < len(spans) else len(text)
        if s["label"] == "LOCATION" and (m := _TYPE_AFTER.match(text, s["end"])) and m.end() <= limit:
            s = {**s, "end": m.end()}
        out.append(s)
    return out


def _named_place(text: str, span: dict, lexicon: Lexicon | None) -> dict | None:
    """A LOCATION without a "type of" before its name ("town of Voruj" -> "Voruj"); None for a
    nationality adjective alone ("Tajik")."""
    if lexicon and lexicon.is_demonym(text[span["start"]:span["end"]]):
        return None
    m = _TYPE_OF.match(text, span["start"], span["end"])
    if m and (m["adj"] is None or (lexicon and lexicon.is_demonym(m["adj"]))):
        return {**span, "start": m.end()}
    return span


def _without_type_descriptions(text: str, spans: list[dict], lexicon: Lexicon | None) -> list[dict]:
    """Drop "Kyrgyz region" of "the Kyrgyz region of Batkén": a nationality adjective and a type, followed by
    "of" and the place's name, describe that place; "the Russian bank of the Pasvik river" names a
    position, which counts (§8.10)."""
    if lexicon is None:
        return spans
    out = []
    for s, nxt in zip(spans, [*spans[1:], None]):
        words = text[s["start"]:s["end"]].split()
        if (s["label"] == "LOCATION" and nxt and nxt["label"] == "LOCATION" and lexicon.is_demonym(words[0])
                and len(words) > 1 and all(w[:1].islower() for w in words[1:]) and words[-1] in TYPE_NOUNS
                and re.fullmatch(r"\s+of\s+(?:the\s+)?", text[s["end"]:nxt["start"]])):
            continue
        out.append(s)
    return out


def _pieces(text: str, span: dict, lexicon: Lexicon | None) -> list[dict]:
    """An actor or a place parted at a possessive before a named place (places only), a spaced dash and a
    coordination of two names; any other span as it is."""
    pieces = location_pieces(text, span) if span["label"] == "LOCATION" else [span]
    if span["label"] in NAME_LABELS:
        pieces = [p for q in pieces for p in dash_pieces(text, q)]
        pieces = [p for q in pieces for p in and_pieces(text, q, lexicon)]
    return pieces


def places(text: str, spans: list[dict], lexicon: Lexicon | None) -> list[dict]:
    """The spans, in order, with places and names as the module says."""
    spans = [p for s in spans for p in _pieces(text, s, lexicon)]
    spans = _with_type_nouns(text, _merge_borders(text, _name_roles(text, spans)))
    spans = [p for s in spans if (p := _named_place(text, s, lexicon) if s["label"] == "LOCATION" else s)]
    return _without_type_descriptions(text, spans, lexicon)
