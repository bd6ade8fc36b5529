"""The lexicon-and-pattern baseline: trigger word lists, casualty-figure patterns with a
killed/injured/displaced cue, date patterns, a weapon lexicon and capitalised-name actors/locations,
with each argument linked to the nearest trigger that may take it. Scored by the same code as the model."""

from __future__ import annotations

import re

from .normalize import MONTHS, OUTCOME_CUES, WEEKDAYS
from .schema import Document, Relation, Span, allowed_relations
from .validate import sentence_bounds

_CAP = r"[A-Z][\w-]*"
_NUM_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty"
              r"|sixty|seventy|eighty|ninety|hundred|a dozen|dozens|scores|several|hundreds|thousands")
_NUMBER = rf"(?:\d[\d,]*(?:\.\d+)?(?:\s+(?:thousand|million))?|(?:{_NUM_WORDS})(?:[\s-](?:{_NUM_WORDS}|thousand))*)"
_APPROX = r"(?:at\s+least|more\s+than|over|nearly|almost|up\s+to|about|around|some|as\s+many\s+as|an\s+estimated)"
_HEADS = (r"people|persons|civilians|soldiers|servicemen|troops|residents|citizens|villagers|nationals|"
          r"border\s+guards|guards|militants|fighters|others|children|women|men|deaths|dead|wounded|injured|"
          r"casualties|lives|families|refugees|police(?:\s+officers)?|officers|members")
FIGURE_RE = re.compile(
    rf"\b(?:{_APPROX}\s+)?{_NUMBER}(?:\s+(?:more|other|[A-Z][a-z]+|Kyrgyz|Tajik)){{0,2}}\s+(?:{_HEADS})\b", re.I)

CLASH_WORDS = [
    "armed clashes", "armed clash", "armed confrontation", "clashes", "clashed", "clash", "exchanging gunfire",
    "exchanged fire", "exchange of fire", "gunfire", "opened fire", "opening fire", "fighting", "fought",
    "shelling", "shelled", "skirmishes", "skirmish", "hostilities", "violence", "attacks", "attacked", "attack",
    "aggression", "provocations", "provocation", "escalation", "escalated", "conflict", "firefight", "battle",
    "strikes", "shooting",
]
CEASEFIRE_WORDS = [
    "full ceasefire", "ceasefire agreement", "ceasefire", "cease-fire", "truce", "armistice",
    "pullout of forces", "withdrawal of troops", "withdrawal of forces", "withdrawal", "withdraw",
    "peace agreement", "peace deal",
]
WEAPON_WORDS = [
    "multiple rocket launcher systems", "multiple rocket launchers", "rocket launchers", "grenade launchers",
    "automatic weapons", "small arms", "heavy weapons", "machine guns", "mortars", "mortar", "artillery",
    "helicopters", "drones", "drone", "tanks", "armoured vehicles", "armored vehicles", "missiles", "missile",
    "rockets", "sniper rifles", "firearms", "grenades",
]
_WEEKDAY = "(?:" + "|".join(WEEKDAYS) + ")"
_MONTH = "(?:" + "|".join(MONTHS) + ")"
TIME_RE = re.compile(
    rf"\b(?:(?:early|late|earlier|this|last|next)\s+)?(?:\d{{1,2}}:?\d{{2}}\s*(?:[ap]\.?m\.?|GMT|local time)?\s+)?"
    rf"(?:{_WEEKDAY}(?:\s+(?:morning|afternoon|evening|night))?|{_MONTH}\s+\d{{1,2}}(?:,\s+\d{{4}})?"
    rf"|\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?|{_MONTH}\s+\d{{4}})"
    rf"|\b(?:at\s+)?(?:dawn|overnight)\b|\bearlier\s+this\s+week\b")
_PARTY_NOUNS = (r"troops|border\s+guards|border\s+guard\s+forces|forces|security\s+forces|army|Army|military|"
                r"soldiers|servicemen|authorities|government|Government|[Mm]inistry|[Cc]ommittee|[Cc]ouncil|"
                r"[Ss]ervice|side|militants|police")
ACTOR_RES = [
    # "Tajik troops", "Kyrgyz and Tajik security forces", "Kyrgyz National Security Council"
    re.compile(rf"\b{_CAP}(?:\s+(?:and\s+)?{_CAP})*\s+(?:[a-z]+\s+)?(?:{_PARTY_NOUNS})\b"),
    # title + name: "President Sadyr Japarov", "Foreign Minister Sergey Lavrov"
    re.compile(rf"\b(?:{_CAP}\s+)*(?:President|Minister|Prime Minister|spokesman|spokeswoman|Secretary)"
               rf"(?:\s+{_CAP}){{1,3}}"),
    re.compile(r"\b(?:Collective Security Treaty Organization(?: \(CSTO\))?|CSTO|United Nations|UN|OSCE|"
               r"Taliban|Kremlin|Bishkek|Dushanbe)\b"),
    re.compile(r"(?<!\bin )(?<!\bof )\b(?:Kyrgyzstan|Tajikistan|Uzbekistan|Russia|Armenia|Azerbaijan|Afghanistan|Iran|China)\b"
               r"(?![’']s\s+(?:southern|northern|eastern|western)?\s*\w+\s+(?:province|region|district))"),
]
LOCATION_RES = [
    re.compile(rf"\b{_CAP}(?:[\s-]{_CAP})*\s+(?:province|district|region|village|area|valley|town|city|oblast)\b"),
    re.compile(rf"\b(?:Kyrgyz|Tajik|Uzbek|Afghan|Armenian|Azerbaijani)[-–](?:Kyrgyz|Tajik|Uzbek|Afghan|Armenian|"
               rf"Azerbaijani)\s+border\b"),
    re.compile(rf"\b(?:in|near|village of|town of)\s+(?P<name>{_CAP}(?:\s+{_CAP})?)"),
]
_NOT_NAMES = re.compile(rf"^(?:{_WEEKDAY}|{_MONTH}|The|A|An|In|On|At|This|That|It|He|She|They|We)\b")

# candidates are accepted in this order; a later candidate overlapping an accepted one is dropped
PRIORITY = ["KILLED", "CEASEFIRE", "CLASH", "WEAPON", "TIME", "ACTOR", "LOCATION"]


def _lexicon_re(words: list[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b", re.I)


CLASH_RE, CEASEFIRE_RE, WEAPON_RE = _lexicon_re(CLASH_WORDS), _lexicon_re(CEASEFIRE_WORDS), _lexicon_re(WEAPON_WORDS)


def figure_label(sentence: str, start: int, end: int) -> str | None:
    """KILLED / INJURED / DISPLACED from the figure's own head noun, else from the nearest cue word."""
    phrase = sentence[start:end]
    for label in ("INJURED", "KILLED", "DISPLACED"):
        if OUTCOME_CUES[label].search(phrase.split()[-1]):
            return label
    best, distance = None, 80  # cues further than this many characters do not count
    for label, cue in OUTCOME_CUES.items():
        for m in cue.finditer(sentence):
            d = m.start() - end if m.start() >= end else start - m.end()
            if 0 <= d < distance:
                best, distance = label, d
    return best


def _candidates(sentence: str) -> list[tuple[int, int, str]]:
    found = []
    for m in FIGURE_RE.finditer(sentence):
        label = figure_label(sentence, m.start(), m.end())
        if label:
            found.append((m.start(), m.end(), label))
    for label, regex in (("CLASH", CLASH_RE), ("CEASEFIRE", CEASEFIRE_RE), ("WEAPON", WEAPON_RE), ("TIME", TIME_RE)):
        found += [(m.start(), m.end(), label) for m in regex.finditer(sentence)]
    for label, regexes in (("ACTOR", ACTOR_RES), ("LOCATION", LOCATION_RES)):
        for regex in regexes:
            group = "name" if "name" in regex.groupindex else 0  # the name after a cue word
            found += [(*m.span(group), label) for m in regex.finditer(sentence) if not _NOT_NAMES.match(m[group])]
    rank = {label: i for i, label in enumerate(PRIORITY)}
    found.sort(key=lambda c: (rank.get(c[2], 0), c[0] - c[1], c[0]))
    accepted: list[tuple[int, int, str]] = []
    for start, end, label in found:
        if label == "TIME" and sentence[start:end].lower().startswith("at "):
            start += 3
        if all(end <= a or start >= b for a, b, _ in accepted):
            accepted.append((start, end, label))
    return accepted


def _nearest(span: Span, triggers: list[Span], sentence_of: dict[str, int]) -> Span | None:
    """The trigger the argument links to: the closest one in its sentence, else the closest earlier one."""
    usable = [t for t in triggers if _role(t.label, span.label) is not None]
    same = [t for t in usable if sentence_of[t.id] == sentence_of[span.id]]
    if same:
        return min(same, key=lambda t: abs(t.start - span.start))
    earlier = [t for t in usable if t.start < span.start]
    return max(earlier, key=lambda t: t.start) if earlier else None


def _role(trigger_label: str, arg_label: str) -> str | None:
    roles = [r for r in allowed_relations(trigger_label, arg_label) if r not in ("same_event", "mediator")]
    return roles[0] if roles else None


def extract(text: str, doc_id: str = "doc") -> Document:
    """A Document of baseline spans (score 0.5) and relations (nearest-trigger links, same_event chains)."""
    doc = Document(doc_id, text)
    sentence_of: dict[str, int] = {}
    for n, (a, b) in enumerate(sentence_bounds(text)):
        found = _candidates(text[a:b])
        has_trigger = any(label in ("CLASH", "CEASEFIRE") for _, _, label in found)
        for start, end, label in sorted(found):
            # arguments only where an event is mentioned (figures carry their own cue)
            if not has_trigger and label not in ("KILLED", "INJURED", "DISPLACED"):
                continue
            span = Span(f"b{len(doc.spans) + 1}", a + start, a + end, label, text[a + start : a + end], 0.5)
            doc.spans.append(span)
            sentence_of[span.id] = n
    triggers = [s for s in doc.spans if s.label in ("CLASH", "CEASEFIRE")]
    for label in ("CLASH", "CEASEFIRE"):  # one event per type: chain every mention to the previous one
        chain = [t for t in triggers if t.label == label]
        doc.relations += [Relation(b.id, a.id, "same_event", 0.5) for a, b in zip(chain, chain[1:])]
    for span in doc.spans:
        if span.label in ("CLASH", "CEASEFIRE"):
            continue
        trigger = _nearest(span, triggers, sentence_of)
        if trigger is not None:
            doc.relations.append(Relation(trigger.id, span.id, _role(trigger.label, span.label), 0.5))
    return doc


def extract_documents(docs: list[Document]) -> list[Document]:
    """Baseline predictions for the texts of `docs` (same doc_ids)."""
    return [extract(d.text, d.doc_id) for d in docs]
