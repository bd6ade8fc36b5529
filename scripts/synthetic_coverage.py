"""The coverage table of the synthetic corpus (annotations/synthetic/README.md): settings per continent,
genres, episodes, length, typography, measured on the built export and the writers' per-batch tables
(annotations/synthetic/coverage/batch_*.md: genre and setting of each article).

    .venv/bin/python scripts/synthetic_coverage.py > annotations/synthetic/COVERAGE.md
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from clashwatch.corpus import load_export  # noqa: E402
from clashwatch.schema import same_event_components  # noqa: E402

SYNTHETIC = REPO / "annotations" / "synthetic"
CONTINENTS = {
    "Africa": "Ethiopia Sudan Eritrea Somalia Kenya Uganda Congo DRC Rwanda Burundi Nigeria Cameroon Mali Burkina Niger "
              "Chad Benin Togo Mozambique Tanzania Zambia Central African Morocco Sahara Libya Tunisia Egypt Mauritania "
              "Algeria Abyei Guinea Bissau Sierra Gambia Senegal Djibouti Angola".split(),
    "Asia": "India Pakistan China Afghanistan Iran Bangladesh Myanmar Thailand Cambodia Korea Philippines Vietnam Laos "
            "Japan Tajikistan Kyrgyzstan Uzbekistan Kazakhstan Turkmenistan Iraq Syria Israel Lebanon Jordan Yemen Saudi "
            "Armenia Azerbaijan Golan Gulf Indonesia Timor Malaysia Nepal Turkey Kuwait Oman Bhutan Mongolia".split(),
    "Europe": "Serbia Kosovo Georgia Ossetia Abkhazia Moldova Transnistria Russia Ukraine Greece Belarus Poland "
              "Lithuania Cyprus Finland Estonia Hungary Nordic Alpine Balkan Baltic Bulgaria Albania Bosnia Croatia "
              "Montenegro Macedonia Latvia Norway Romania Slovakia Spain France".split(),
    "Americas": "Colombia Venezuela Guyana Ecuador Mexico Guatemala Brazil Peru Paraguay Bolivia Chile Belize Honduras "
                "Nicaragua Salvador Costa Haiti Dominican Andean Caribbean Argentina Panama Suriname Guiana Trinidad Bahamas "
                "Cuba Uruguay".split() + ["United States"],
    "Oceania": "Papua Pacific Tolamei Ravuna Maruvai Kelona Island Timor Australia Fiji Tonga Vanuatu Solomon Samoa Zealand "
               "Kiribati".split(),
}
_PRECEDENCE = ("Oceania", "Europe", "Americas", "Africa", "Asia")  # "Indonesia–Papua New Guinea" is Oceania
# the invented states of the corpus, with the continent their writer set them on
INVENTED = {"Karshavan": "Asia", "Tarkesh": "Asia", "Yarlen": "Asia", "Ngarsang": "Asia", "Sadafa": "Asia",
            "Jazran": "Asia", "Harqan": "Asia", "Sabkhar": "Asia", "Taluvan": "Asia", "Mirasol": "Asia",
            "Nsamba": "Africa", "Karunde": "Africa", "Kalmara": "Africa", "Oudhane": "Africa", "Haldera": "Africa",
            "Ambessa": "Africa", "Tessira": "Africa", "Mabonde": "Africa", "Corvania": "Europe", "Istrela": "Europe",
            "Kalvoria": "Europe", "Dobrania": "Europe", "Fjellmark": "Europe", "Norrvald": "Europe",
            "Valcanta": "Americas", "Quillaro": "Americas", "Caravela": "Americas", "Orocay": "Americas",
            "Ravuna": "Oceania", "Tolamei": "Oceania", "Maruvai": "Oceania", "Kelona": "Oceania", "Tandare": "Oceania",
            "Iquara": "Oceania",
            # batches s..z (the coverage round: one new setting per article)
            **dict.fromkeys("Marevu Tavasi Okanu Lesiva Rangatoa Vetupe Kiolani Semaru Hauvaka Polenu Tauvesi Mokarua "
                            "Anavuki Seluma Farekai Lomitu Veikara Tunasi Kalepo Moanivi Ritova Sauleka Makunesi Orovai "
                            "Palutea Kiribo Nevalu Tamoana Sirupe Havolea Uvakai Lemotu Kovana Pasifo Etoku Malavesi "
                            "Temaru Felisi Oraka Nuvalei Soravai Hufanga Tuimotu Nakelo Malaupe Kuranesi Tirowai "
                            "Nauvela Selavu Mautaki Porua Ketevai Lemasa Ivaroa".split(), "Oceania"),
            **dict.fromkeys("Varnesse Osterholm Brevania Szalmar Lutavia Merovska Kestria Dravonia Halvenmark "
                            "Ostrelia Velmora Drostavia Kaldenia Vintara Morvaska Istovar Salvenia Karolsk".split(),
                            "Europe"),
            **dict.fromkeys("Marqueña Tolvara Sanvega Pelotán Alcorra Yuvaré Montevar Cundayo Ostrada Vilcaris "
                            "Jurumara Tovesca".split(), "Americas")}
STATES = {w for words in CONTINENTS.values() for w in words} | set(INVENTED)
# where a batch's invented settings sit (the brief each writer got)
BATCH_REGION = {"a": "Asia", "b": "Europe", "c": "Africa", "d": "Africa", "e": "Asia", "f": "Asia", "g": "Asia",
                "h": "Europe", "i": "Americas", "j": "Oceania", "k": "Africa", "l": "Africa", "m": "Asia", "n": "Europe",
                "o": "Americas", "p": "Asia", "q": "Africa", "r": "Asia", "s": "Oceania", "t": "Oceania",
                "u": "Oceania", "v": "Europe", "w": "Europe", "x": "Americas", "y": "Americas", "z": "Africa, Asia (z1NN)"}
GENRES = ["wire", "feature", "ministry", "live", "explainer", "correction", "regional", "state media", "opinion",
          "radio"]


def batch_tables() -> dict[str, dict]:
    """file stem -> {"genre", "setting"} from the writers' tables."""
    rows = {}
    for path in sorted((SYNTHETIC / "coverage").glob("batch_*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and re.fullmatch(r"syn_[a-z]\d+", cells[0]):
                rows[cells[0]] = {"genre": cells[1], "setting": cells[2]}
    return rows


# a name: capitalised words, hyphens and accents inside ("Timor-Leste", "Pelotán"), "and" between two
# capitalised words ("Bosnia and Herzegovina", "Trinidad and Tobago")
_NAME = r"[A-Z][\w'’.-]*(?: (?:and )?[A-Z][\w'’.-]*)*"
_DYAD = re.compile(rf"(?<![\w-])({_NAME})\s*–\s*({_NAME})")
_ALIASES = {"Leste": "Timor-Leste", "Timor Leste": "Timor-Leste", "DRC": "DR Congo", "Congo": "DR Congo", "Democratic Republic of Congo": "DR Congo", "PNG": "Papua New Guinea",
            "CAR": "Central African Republic", "Koreas": "Korea",
            # a stretch of one border is not a new dyad
            "China LAC": "China", "Pakistan LoC": "Pakistan", "Pakistan Durand Line": "Pakistan",
            "Afghanistan Helmand": "Afghanistan", "Turkey Aegean": "Turkey", "Syria Golan": "Syria"}


def dyads(setting: str, batch: str) -> list[tuple[str, str]]:
    """(continent, dyad) for every "A–B" pair of states, parties or invented states named in a setting
    cell, order-free ("Ethiopia–Sudan" = "Sudan–Ethiopia")."""
    out = []
    found = _DYAD.findall(setting) + re.findall(r"\b([A-Z][a-z]+) (?:vs|and) ([A-Z][a-z]+)\b", setting)
    for a, b in found:
        pair = sorted(_ALIASES.get(x.strip(), x.strip()) for x in (a, b))
        if not all(any(w in re.split(r"[\s-]", side) or w == side for w in STATES) for side in pair):
            continue  # two places or two units on one border: a setting of a dyad already counted
        name = "–".join(pair)
        continent = next((INVENTED[w] for w in pair if w in INVENTED), None) or next(
            (c for c in _PRECEDENCE if any(w in name for w in CONTINENTS[c])), BATCH_REGION.get(batch, "?"))
        out.append((continent, name))
    return out


def genre_of(cell: str) -> str:
    low = cell.lower()
    return next((g for g in GENRES if g in low), "other")


def features(text: str) -> dict:
    headline = text.strip().splitlines()[0] if text.strip() else ""
    return {"curly": bool(re.search("[“”’]", text)), "caps_headline": headline.isupper(),
            "british": bool(re.search(r"\b(?:defence|kilometres|organisation|centre|labour|offence)\b", text)),
            "american": bool(re.search(r"\b(?:defense|kilometers|organization|center|labor|offense)\b", text)),
            "number_words": bool(re.search(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|dozen)\b", text, re.I)),
            "digits": bool(re.search(r"\b\d+\b", text))}


def main() -> int:
    docs = load_export(Path(sys.argv[1]) if len(sys.argv) > 1 else SYNTHETIC / "synthetic.json")
    tables = batch_tables()
    settings: dict[str, set[str]] = defaultdict(set)
    genres, feats = Counter(), Counter()
    words = long = multi = spans = relations = no_event = 0
    per_batch = defaultdict(lambda: Counter())
    for d in docs:
        stem = d.doc_id.removesuffix(".txt")
        batch = stem.removeprefix("syn_")[0]
        row = tables.get(stem)
        if row:
            for continent, name in dyads(row["setting"], batch):
                settings[continent].add(name)
            genres[genre_of(row["genre"])] += 1
        n_words = len(d.text.split())
        events = same_event_components(d)
        words += n_words
        long += n_words >= 1000
        multi += len(events) >= 2
        no_event += not events
        spans += len(d.spans)
        relations += len(d.relations)
        for k, v in features(d.text).items():
            feats[k] += v
        per_batch[batch].update(articles=1, words=n_words, spans=len(d.spans), relations=len(d.relations),
                                multi=len(events) >= 2, long=n_words >= 1000)
    new = [d for d in docs if not d.doc_id.startswith(("syn_a", "syn_b"))]
    print("# Coverage of the synthetic corpus (generated by scripts/synthetic_coverage.py)\n")
    print(f"{len(docs)} articles ({len(new)} new in the 2026-11-29 corpus, {sum(len(d.text.split()) for d in new):,} "
          f"words), {words:,} words in all, {spans:,} spans, {relations:,} relations.\n")
    print("| measure | articles |\n|---|---|")
    for name, value in [("two or more events (same_event components)", multi), ("no event at all", no_event),
                        ("1,000 words or more", long), ("curly quotes", feats["curly"]),
                        ("all-caps headline", feats["caps_headline"]), ("British spelling", feats["british"]),
                        ("American spelling", feats["american"]), ("numbers as words", feats["number_words"]),
                        ("numbers as digits", feats["digits"])]:
        print(f"| {name} | {value} |")
    print("\n| genre | articles |\n|---|---|")
    for g in GENRES + ["other"]:
        print(f"| {g} | {genres[g]} |")
    print(f"\n## State dyads per continent ({sum(len(v) for v in settings.values())} distinct; real borders with "
          "invented incidents, and invented states)\n")
    print("| continent | dyads | names |\n|---|---|---|")
    for continent in sorted(settings):
        print(f"| {continent} | {len(settings[continent])} | {'; '.join(sorted(settings[continent]))} |")
    print("\n## Per writer batch\n\n| batch | region | articles | words | spans | relations | multi-event | long |")
    print("|---|---|---|---|---|---|---|---|")
    for b, c in sorted(per_batch.items()):
        print(f"| {b} | {BATCH_REGION.get(b, '')} | {c['articles']} | {c['words']:,} | {c['spans']:,} | {c['relations']:,} "
              f"| {c['multi']} | {c['long']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
