"""What the training documents say about names: the nationality adjectives they use and the names with
"and" inside them, kept with the model (`lexicon.json`) so the decoder can tell "Tajik" from "Tajikistan"
and "Jammu and Kashmir" (one place) from "Tajikistan and Kyrgyzstan" (two sides).

The tagger often calls a nationality adjective a place: "fired at Tajik residents" -> LOCATION "Tajik",
"the Kyrgyz region of Batkén" -> LOCATION "Kyrgyz region" (guidelines §2: "type of Name" keeps only the
name). A demonym is learned, not listed: a capitalised word that the training documents use to modify an
actor or a weapon ("Tajik troops", "Rwandan army"), never annotate as a place or as the name of a "Name +
type" place, and that shares its first four letters with a place they do annotate ("Tajik" and
"Tajikistan", "Indian" and "India"). "Kandahar police" makes no demonym of "Kandahar": no other place
begins "Kand". Built from the training documents alone, so a cross-validation fold never learns a
held-out article's words. A name with "and" is a whole annotated actor or place of two names of one
shape joined by "and" (`and_parts`); any other such pair is two names (guidelines §2: coordinated names
are split)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .schema import Document, ModelNotFoundError

FILE = "lexicon.json"
# the type nouns of "Name + type" places ("Batken province", "Tort-Kocho area"); "X side" and "X border"
# are not among them, since their first word is the nationality adjective ("the Afghan side")
TYPE_NOUNS = ("district", "region", "province", "village", "town", "city", "area", "county", "oblast", "governorate",
              "state", "municipality", "sector", "port", "island", "hamlet", "settlement", "enclave")
_STEM = 4
_NAME_WORD = re.compile(r"[A-Z][\w’'-]*")


def and_parts(words: str) -> tuple[str, str] | None:
    """The two names of "Tajikistan and Kyrgyzstan" or "Sadir Zhaparov and Emomali Rakhmon": capitalised
    words on both sides, as many on each; "Defence and Security Forces" or "Trinidad and Tobago Coast
    Guard" are one name (the sides differ in shape)."""
    parts = words.split(" and ")
    if len(parts) != 2:
        return None
    a, b = (p.split(" ") for p in parts)
    if len(a) != len(b) or not all(_NAME_WORD.fullmatch(w) for w in a + b):
        return None
    return parts[0], parts[1]


def _is_modifier(words: list[str]) -> bool:
    """A capitalised first word before a lower-case one ("Tajik troops"), not a possessive ("Russia's")."""
    return (len(words) >= 2 and words[0][:1].isupper() and words[1][:1].islower()
            and not re.search(r"[’']s?$", words[0]))


@dataclass(frozen=True)
class Lexicon:
    demonyms: frozenset[str] = field(default_factory=frozenset)
    and_names: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_documents(cls, docs: list[Document]) -> "Lexicon":
        firsts: set[str] = set()  # the first words of annotated places ("Tajikistan")
        place_words: set[str] = set()  # whole places and the names of "Name + type" places
        modifiers: set[str] = set()
        and_names: set[str] = set()
        lower: set[str] = set()  # "Border guards", "Armed men": a common word capitalised, not a demonym
        for doc in docs:
            lower.update(re.findall(r"\b[a-z][\w-]*", doc.text))
            for s in doc.spans:
                words = s.text.split()
                if s.label in ("ACTOR", "LOCATION") and and_parts(s.text):
                    and_names.add(s.text)
                if s.label == "LOCATION":
                    firsts.add(words[0])
                    place_words.add(s.text)
                    if len(words) == 2 and words[1].lower() in TYPE_NOUNS:
                        place_words.add(words[0])
                elif s.label in ("ACTOR", "WEAPON") and _is_modifier(words):
                    modifiers.add(words[0])
        demonyms = {w for w in modifiers if w not in place_words and w.lower() not in lower and len(w) >= _STEM
                    and any(p != w and p[:_STEM] == w[:_STEM] for p in firsts)}
        return cls(frozenset(demonyms), frozenset(and_names))

    def is_demonym(self, word: str) -> bool:
        return word in self.demonyms

    def is_and_name(self, words: str) -> bool:
        return words in self.and_names

    def to_dict(self) -> dict:
        return {"demonyms": sorted(self.demonyms), "and_names": sorted(self.and_names)}

    def save(self, model_dir: str | Path) -> None:
        from .corpus import write_json_atomic

        write_json_atomic(Path(model_dir) / FILE, self.to_dict())

    @classmethod
    def load(cls, model_dir: str | Path) -> "Lexicon":
        path = Path(model_dir) / FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            lists = [data["demonyms"], data["and_names"]]
            if not all(isinstance(x, list) and all(isinstance(w, str) for w in x) for x in lists):
                raise TypeError("demonyms and and_names must be lists of strings")
            return cls(*map(frozenset, lists))
        except FileNotFoundError:
            raise ModelNotFoundError(f"{model_dir} lacks {FILE} (the decoder's demonyms and names with 'and', "
                                     "learned from the training documents); retrain the model") from None
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise ModelNotFoundError(f"{path} is corrupt ({e}); retrain the model") from None
