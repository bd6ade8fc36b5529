"""The constrained decoder: gold tags decode back to the gold, and the broken phrases seen on real
articles (issue 12) come out as one span with one label."""

from __future__ import annotations


import numpy as np
import pytest

from clashwatch.data import LABEL2ID, _token_tags, tokenize_document
from clashwatch.lexicon import Lexicon
from clashwatch.decoding import TAGS, decode, decode_greedy, one_hot_logprobs, tidy_spans, trim_span



@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from clashwatch.encoders import resolve_base_model

    return AutoTokenizer.from_pretrained(resolve_base_model("minilm"), local_files_only=True)


def _gold_docs():
    from pathlib import Path

    from clashwatch.corpus import load_export

    root = Path(__file__).resolve().parents[1] / "annotations"
    return load_export(root / "gold.json") + load_export(root / "synthetic" / "synthetic.json")


def test_gold_tags_decode_back_to_the_gold_under_every_constraint(tokenizer):
    """No constraint forbids what an annotator wrote: every gold and synthetic document round-trips, with
    the lexicon of places and demonyms they teach."""
    docs = _gold_docs()
    lexicon = Lexicon.from_documents(docs)
    for doc in docs:
        tdoc = tokenize_document(doc.text, tokenizer)
        tags = {i: t for i, t in enumerate(_token_tags(doc, tdoc)) if t >= 0}
        decoded = {(s["start"], s["end"], s["label"]) for s in decode(tdoc, one_hot_logprobs(tags), lexicon)}
        assert decoded == {(s.start, s.end, s.label) for s in doc.spans}, doc.doc_id
        assert all(tdoc.word_first[i] for i in tags)


def _noisy(tokenizer, text: str, words: list[tuple[str, str]], phrase: str | None = None, fill: float = 0.02):
    """Tag log-probabilities where each listed word (its first occurrence after the previous one) gets
    its tag with probability 0.6 on every word-first token it covers, and, torn as a tagger is on such
    words, 0.3 on continuing the `phrase` label; other tokens are O."""
    tdoc = tokenize_document(text, tokenizer)
    rows = {}
    for i, (a, b) in enumerate(tdoc.offsets):
        if tdoc.word_first[i] and b > a:
            row = np.full(TAGS, fill)
            row[0] = 1.0
            rows[i] = row
    cursor = 0
    for word, tag, *sure in words:  # an optional third item: the tag's probability (else 0.6)
        start = text.index(word, cursor)
        cursor = start + len(word)
        for i in rows:
            a, b = tdoc.offsets[i]
            if a >= start and b <= cursor:
                row = np.full(TAGS, fill)
                if phrase is not None:
                    row[LABEL2ID[("I-" if a > text.index(words[0][0]) else "B-") + phrase]] = 0.3
                row[LABEL2ID[tag]] = sure[0] if sure else 0.6
                rows[i] = row
    logp = {i: np.log(r / r.sum()) for i, r in rows.items()}
    return tdoc, logp


def _spans(tdoc, spans):
    return [(tdoc.text[s["start"] : s["end"]], s["label"]) for s in spans]


BROKEN = [
    # "17 border guards" became INJURED "17 border" + KILLED "guards"
    ("They said 17 border guards were hurt.", [("17", "B-INJURED"), ("border", "I-INJURED"), ("guards", "B-KILLED")],
     [("17 border guards", "INJURED")]),
    # "dozens dead" became INJURED + KILLED: one span, and "dead" says which
    ("The raid left dozens dead.", [("dozens", "B-INJURED"), ("dead", "B-KILLED")], [("dozens dead", "KILLED")]),
    # a curly apostrophe broke "People’s Liberation Army"
    ("Soldiers of the People’s Liberation Army crossed.",
     [("People", "B-ACTOR"), ("’", "B-KILLED"), ("s", "B-ACTOR"), ("Liberation", "I-ACTOR"), ("Army", "I-ACTOR")],
     [("People’s Liberation Army", "ACTOR")]),
    # a two-word town became LOCATION + ACTOR
    ("Shells fell on Dera Bugti overnight.", [("Dera", "B-LOCATION"), ("Bugti", "B-ACTOR")],
     [("Dera Bugti", "LOCATION")]),
    # a hyphenated village became three spans
    ("Fighting reached Chak-Amru on Monday.", [("Chak", "B-LOCATION"), ("-", "B-ACTOR"), ("Amru", "B-TIME")],
     [("Chak-Amru", "LOCATION")]),
    # a numbered patrol point became ACTOR + TIME
    ("Troops met at PP-15 again.", [("PP", "B-ACTOR"), ("-", "I-ACTOR"), ("15", "B-TIME")], [("PP-15", "ACTOR")]),
    # "Two other men" + rank + initial + surname became KILLED, INJURED, KILLED and the initial a figure
    ("Two other men, Havildar K. Singh, died.",
     [("Two", "B-KILLED"), ("other", "B-INJURED"), ("men", "B-KILLED"), ("K", "B-KILLED")],
     [("Two other men", "KILLED")]),
]


@pytest.mark.parametrize("text, words, want", BROKEN, ids=[b[2][0][0] for b in BROKEN])
def test_one_phrase_is_one_span_with_one_label(tokenizer, text, words, want):
    tdoc, logp = _noisy(tokenizer, text, words, phrase=want[0][1])
    assert _spans(tdoc, decode(tdoc, logp)) == want
    greedy = {i: int(row.argmax()) for i, row in logp.items()}
    if want != [("dozens dead", "KILLED")]:  # that one the figure rules below fix for the greedy decoder too
        assert _spans(tdoc, decode_greedy(tdoc, greedy)) != want  # the failure the constraints fix


def test_a_span_never_crosses_a_line_break_or_a_sentence_end(tokenizer):
    text = "BORDER CLASHES\n\nTroops fired. Guards replied."
    tdoc, logp = _noisy(tokenizer, text, [("CLASHES", "B-CLASH"), ("Troops", "I-CLASH"), ("fired", "I-CLASH"),
                                          ("Guards", "I-CLASH")])
    spans = _spans(tdoc, decode(tdoc, logp))
    assert all("\n" not in t and ". " not in t for t, _ in spans)
    assert ("CLASHES", "CLASH") in spans


def test_weapon_and_trigger_may_touch(tokenizer):
    text = "Missile strikes hit Osh."
    tdoc, logp = _noisy(tokenizer, text, [("Missile", "B-WEAPON"), ("strikes", "B-CLASH"), ("Osh", "B-LOCATION")])
    assert _spans(tdoc, decode(tdoc, logp)) == [("Missile", "WEAPON"), ("strikes", "CLASH"), ("Osh", "LOCATION")]


def test_figures_without_a_quantity_are_dropped(tokenizer):
    text = "Soldiers died and 12 civilians died."
    tdoc, logp = _noisy(tokenizer, text, [("Soldiers", "B-KILLED"), ("12", "B-KILLED"), ("civilians", "I-KILLED")])
    assert _spans(tdoc, decode(tdoc, logp)) == [("12 civilians", "KILLED")]


def test_trim_span_keeps_what_the_spec_keeps():
    text = 'the Collective Security Treaty Organization (CSTO), at 3 a.m. a "truce", (Batken)'
    for raw, want in [("Collective Security Treaty Organization (CSTO),", "Collective Security Treaty Organization (CSTO)"),
                      ("3 a.m.", "3 a.m."), ('"truce",', "truce"), ("(Batken)", "Batken"), ("CSTO),", "CSTO")]:
        start = text.index(raw)
        s, e = trim_span(text, start, start + len(raw))
        assert text[s:e] == want


def test_tidy_spans_joins_whitespace_adjacent_same_label_spans():
    text = "a full ceasefire, Kyrgyz and Tajik troops"
    spans = [{"start": 2, "end": 6, "label": "CEASEFIRE", "probs": [0.9]},
             {"start": 7, "end": 17, "label": "CEASEFIRE", "probs": [0.7]},  # "ceasefire," trimmed, joined
             {"start": 18, "end": 24, "label": "ACTOR", "probs": [1.0]},
             {"start": 29, "end": 34, "label": "ACTOR", "probs": [1.0]}]  # "and" between: stays apart
    out = tidy_spans(spans, text)
    assert [(text[s["start"]:s["end"]], s["label"]) for s in out] == [
        ("full ceasefire", "CEASEFIRE"), ("Kyrgyz", "ACTOR"), ("Tajik", "ACTOR")]
    assert out[0]["probs"] == [0.9, 0.7]


def test_a_figures_own_words_decide_its_label_and_keep_its_resultative(tokenizer):
    text = "Almost fifty deaths have been counted and more than 200 wounded."
    tdoc, logp = _noisy(tokenizer, text, [("Almost", "B-INJURED"), ("fifty", "I-INJURED"), ("deaths", "I-INJURED"),
                                          ("more", "B-INJURED"), ("than", "I-INJURED"), ("200", "I-INJURED")])
    assert _spans(tdoc, decode(tdoc, logp)) == [("Almost fifty deaths", "KILLED"), ("more than 200 wounded", "INJURED")]


def test_a_figure_whose_words_name_no_outcome_takes_the_one_its_verb_names(tokenizer):
    """The shipped model tagged "Nearly 4,000 residents were evacuated" KILLED, and the demo counted
    them as ACLED fatalities; a figure whose verb names nothing keeps its tag."""
    text = "Nearly 4000 residents were evacuated. Officials said 12 people had so far been wounded. They said 30 soldiers held."
    tdoc, logp = _noisy(tokenizer, text, [("Nearly", "B-KILLED"), ("4000", "I-KILLED"), ("residents", "I-KILLED"),
                                          ("12", "B-KILLED"), ("people", "I-KILLED"),
                                          ("30", "B-KILLED"), ("soldiers", "I-KILLED")])
    assert _spans(tdoc, decode(tdoc, logp)) == [("Nearly 4000 residents", "DISPLACED"), ("12 people", "INJURED"),
                                               ("30 soldiers", "KILLED")]


def test_a_hyphenated_phrase_is_one_span_even_when_the_tagger_begins_each_half(tokenizer):
    """Fold 002 of the cross-validation gave CLASH "counter" + CLASH "offensive"; an en dash between two
    names still parts them ("Armenia–Azerbaijan", as annotated)."""
    text = "The counter-offensive began. Armenia–Azerbaijan talks."
    tdoc, logp = _noisy(tokenizer, text, [("counter", "B-CLASH"), ("offensive", "B-CLASH"),
                                          ("Armenia", "B-ACTOR"), ("Azerbaijan", "B-ACTOR")], phrase="CLASH")
    assert _spans(tdoc, decode(tdoc, logp)) == [("counter-offensive", "CLASH"), ("Armenia", "ACTOR"),
                                               ("Azerbaijan", "ACTOR")]


def test_a_breakdown_of_a_figure_is_dropped_and_the_total_takes_the_verb_after_it(tokenizer):
    """Seed 004: "Two Tajik nationals were killed and at least ten others, including 6 border guards and 4
    civilians, were wounded" was decoded KILLED four times, and the wounded counted as dead; the spec
    annotates the total alone, INJURED by the verb after the breakdown."""
    text = ("Two Tajik nationals were killed and at least ten others, including 6 border guards and 4 civilians, "
            "were wounded.")
    tdoc, logp = _noisy(tokenizer, text, [("Two", "B-KILLED"), ("Tajik", "I-KILLED"), ("nationals", "I-KILLED"),
                                          ("at", "B-KILLED"), ("least", "I-KILLED"), ("ten", "I-KILLED"),
                                          ("others", "I-KILLED"), ("6", "B-KILLED"), ("border", "I-KILLED"),
                                          ("guards", "I-KILLED"), ("4", "B-KILLED"), ("civilians", "I-KILLED")])
    assert _spans(tdoc, decode(tdoc, logp)) == [("Two Tajik nationals", "KILLED"), ("at least ten others", "INJURED")]


def test_a_location_is_parted_at_a_possessive_and_loses_its_compass_adjective(tokenizer):
    """Seed 000's "Batken's Leilik district" came out as one LOCATION and matched neither gold place,
    seed 004's "western Batken region" missed "Batken region"; a possessive inside one name stays."""
    text = ("Troops fired in Batken's Leilik district, in Kyrgyzstan's western Batken region, on St Martin's Island, "
            "in Ukraine's Donetsk Oblast and near the People's Republic of China.")
    words = [("Batken's", "B-LOCATION"), ("Leilik", "I-LOCATION"), ("district", "I-LOCATION"),
             ("Kyrgyzstan's", "B-LOCATION"), ("western", "I-LOCATION"), ("Batken", "I-LOCATION"),
             ("region", "I-LOCATION"), ("St", "B-LOCATION"), ("Martin's", "I-LOCATION"), ("Island", "I-LOCATION"),
             ("Ukraine's", "B-LOCATION"), ("Donetsk", "I-LOCATION"), ("Oblast", "I-LOCATION"),
             ("People's", "B-LOCATION"), ("Republic", "I-LOCATION"), ("of", "I-LOCATION"), ("China", "I-LOCATION")]
    tdoc, logp = _noisy(tokenizer, text, words)
    assert _spans(tdoc, decode(tdoc, logp)) == [("Batken", "LOCATION"), ("Leilik district", "LOCATION"),
                                               ("Kyrgyzstan", "LOCATION"), ("Batken region", "LOCATION"),
                                               ("St Martin's Island", "LOCATION"), ("Ukraine", "LOCATION"),
                                               ("Donetsk Oblast", "LOCATION"), ("People's Republic of China", "LOCATION")]


@pytest.mark.parametrize("text, total, label, dropped", [
    ("At least 3,000 residents, including 1,200 children, were evacuated.", "At least 3,000 residents", "DISPLACED",
     ["1,200 children"]),
    ("At least ten others, including 6 border guards, 3 police and 4 civilians, were wounded.", "At least ten others",
     "INJURED", ["6 border guards", "3 police", "4 civilians"]),
    ("Ten others, including 6 border guards and 4 civilians were wounded.", "Ten others", "INJURED",
     ["6 border guards", "4 civilians"]),
])
def test_a_breakdown_runs_to_its_verb_past_thousands_lists_and_a_missing_comma(tokenizer, text, total, label, dropped):
    words = [(w, ("B-" if n == 0 else "I-") + "KILLED") for phrase in [total] + dropped
             for n, w in enumerate(phrase.split())]
    tdoc, logp = _noisy(tokenizer, text, words)
    assert _spans(tdoc, decode(tdoc, logp)) == [(total, label)]


def test_a_figure_after_an_including_clause_with_no_quantity_is_kept(tokenizer):
    text = "Fighting killed 12 soldiers, including in Vorukh where 4 civilians also died, officials said."
    tdoc, logp = _noisy(tokenizer, text, [("12", "B-KILLED"), ("soldiers", "I-KILLED"), ("4", "B-KILLED"),
                                          ("civilians", "I-KILLED")])
    assert _spans(tdoc, decode(tdoc, logp)) == [("12 soldiers", "KILLED"), ("4 civilians", "KILLED")]


@pytest.mark.parametrize("text, kept", [
    ("Clashes killed 12 people, including 3 children and wounded 20 others.", ["12 people", "20 others"]),
    ("Shelling killed 12 people, including 3 children in Vorukh where 20 were wounded.", ["12 people", "20"]),
])
def test_a_breakdown_stops_at_a_clause_of_its_own(tokenizer, text, kept):
    """A review's cases: a breakdown with no closing comma ran to the sentence's end and took the
    wounded with it."""
    words = [(w, ("B-" if n == 0 else "I-") + "KILLED") for phrase in [kept[0], "3 children"] + kept[1:]
             for n, w in enumerate(phrase.split())]
    tdoc, logp = _noisy(tokenizer, text, words)
    assert [t for t, _ in _spans(tdoc, decode(tdoc, logp))] == kept


DEMONYMS = Lexicon(demonyms=frozenset({"Tajik", "Kyrgyz"}), and_names=frozenset({"Jammu and Kashmir"}))
PLACES = [
    # seed 000: an outlet's name glued to the first word ("Alwaght- Tajikistan") became one LOCATION; the
    # dateline goes, and the name joined by "and" to an actor takes the surer label
    ("Alwaght- Tajikistan and Kyrgyzstan agreed on a truce.",
     [("Alwaght-", "B-LOCATION"), ("Tajikistan", "I-LOCATION", 0.5), ("Kyrgyzstan", "B-ACTOR", 0.9)],
     [("Tajikistan", "ACTOR"), ("Kyrgyzstan", "ACTOR")]),
    # seed 004: "the border of Kyrgyzstan and Tajikistan" is one place (guidelines §2)
    ("They called for a ceasefire on the border of Kyrgyzstan and Tajikistan.",
     [("Kyrgyzstan", "B-LOCATION"), ("Tajikistan", "B-LOCATION")],
     [("border of Kyrgyzstan and Tajikistan", "LOCATION")]),
    # ... but a border between containers and their places names each of them
    ("Shells fell on the border between Phitsanulok and Laos's Sainyabuli province.",
     [("Phitsanulok", "B-LOCATION"), ("Laos", "B-LOCATION"), ("Sainyabuli", "B-LOCATION"), ("province", "I-LOCATION")],
     [("Phitsanulok", "LOCATION"), ("Laos", "LOCATION"), ("Sainyabuli province", "LOCATION")]),
    # seed 000: "an invasion attempt by Dushanbe" names the side that acted, not a place
    ("Protesters decried an invasion attempt by Dushanbe.", [("invasion", "B-CLASH"), ("Dushanbe", "B-LOCATION")],
     [("invasion", "CLASH"), ("Dushanbe", "ACTOR")]),
    ("The enclave is surrounded by Kyrgyzstan.", [("Kyrgyzstan", "B-LOCATION")], [("Kyrgyzstan", "LOCATION")]),
    # seed 004: a nationality adjective is no place ("fired at Tajik residents")
    ("The Kyrgyz side fired at Tajik residents.", [("Tajik", "B-LOCATION")], []),
    # seed 001: "the Kyrgyz region of Batkén" -> only the name; "the town of Voruj", "the Kyrgyz village of
    # Kalacha" as one span -> only the name (guidelines §2, "type of Name")
    ("Shooting hit the Kyrgyz region of Batkén near the town of Voruj and the Kyrgyz village of Kalacha.",
     [("Kyrgyz", "B-LOCATION"), ("region", "I-LOCATION"), ("Batkén", "B-LOCATION"), ("town", "B-LOCATION"),
      ("of", "I-LOCATION"), ("Voruj", "I-LOCATION"), ("Kyrgyz", "B-LOCATION"), ("village", "I-LOCATION"),
      ("of", "I-LOCATION"), ("Kalacha", "I-LOCATION")],
     [("Batkén", "LOCATION"), ("Voruj", "LOCATION"), ("Kalacha", "LOCATION")]),
    # a description with a named country counts, as does a bank or a side (guidelines §2, §8.10)
    ("Police entered the national waters of Karunde from the Russian bank of the Pasvik river.",
     [("national", "B-LOCATION"), ("waters", "I-LOCATION"), ("of", "I-LOCATION"), ("Karunde", "I-LOCATION"),
      ("Russian", "B-LOCATION"), ("bank", "I-LOCATION"), ("Pasvik", "B-LOCATION"), ("river", "I-LOCATION")],
     [("national waters of Karunde", "LOCATION"), ("Russian bank", "LOCATION"), ("Pasvik river", "LOCATION")]),
    # seed 002 ("in the Batken region" -> "Batken"): a name keeps the type noun after it
    ("Clashes broke out in the Batken region.", [("Batken", "B-LOCATION")], [("Batken region", "LOCATION")]),
    # a review's cases: the "and" rule before the border, over a whole chain, the surer label a place's
    ("Fighting on the border of Kyrgyzstan and Tajikistan.",
     [("Kyrgyzstan", "B-LOCATION", 0.9), ("Tajikistan", "B-ACTOR", 0.5)],
     [("border of Kyrgyzstan and Tajikistan", "LOCATION")]),
    ("The attack by Kyrgyzstan and Tajikistan failed.", [("Kyrgyzstan", "B-LOCATION"), ("Tajikistan", "B-LOCATION")],
     [("Kyrgyzstan", "ACTOR"), ("Tajikistan", "ACTOR")]),
    ("Shells hit Osh and Batken and Dushanbe.",
     [("Osh", "B-LOCATION", 0.5), ("Batken", "B-ACTOR", 0.8), ("Dushanbe", "B-LOCATION", 0.9)],
     [("Osh", "LOCATION"), ("Batken", "LOCATION"), ("Dushanbe", "LOCATION")]),
    # "surrounded" in any case and a few words before "by" still make a place
    ("Vorukh is surrounded on all sides by Kyrgyzstan.", [("Kyrgyzstan", "B-LOCATION")], [("Kyrgyzstan", "LOCATION")]),
    ("Surrounded by Kyrgyzstan, Vorukh is cut off.", [("Kyrgyzstan", "B-LOCATION")], [("Kyrgyzstan", "LOCATION")]),
    # a suspended hyphen is no dash; a spaced dash mid-line or in a headline parts two names, keeping both;
    # a dateline in capitals goes
    ("Fighters of Russian- and Turkish-backed forces clashed.",
     [("Russian-", "B-ACTOR"), ("and", "I-ACTOR"), ("Turkish-backed", "I-ACTOR"), ("forces", "I-ACTOR")],
     [("Russian- and Turkish-backed forces", "ACTOR")]),
    ("Kyrgyzstan – Tajikistan\nTalks began.", [("Kyrgyzstan", "B-LOCATION"), ("–", "I-LOCATION"),
                                               ("Tajikistan", "I-LOCATION")],
     [("Kyrgyzstan", "LOCATION"), ("Tajikistan", "LOCATION")]),
    ("KABUL — Taliban fighters fired.", [("KABUL", "B-ACTOR"), ("—", "I-ACTOR"), ("Taliban", "I-ACTOR"),
                                          ("fighters", "I-ACTOR")], [("Taliban fighters", "ACTOR")]),
    # "state" is an adjective here, and a type noun glued to a hyphen is no type noun
    ("Tajikistan state media and Kyrgyzstan region-wide reports said so.",
     [("Tajikistan", "B-LOCATION"), ("Kyrgyzstan", "B-LOCATION")], [("Tajikistan", "LOCATION"), ("Kyrgyzstan", "LOCATION")]),
    # seed 003's "Tajikistan and Kyrgyzstan" came out one ACTOR: coordinated names are two (guidelines §2),
    # unless the training documents annotate the pair whole
    ("Clashes between Tajikistan and Kyrgyzstan erupted in Jammu and Kashmir.",
     [("Tajikistan", "B-ACTOR"), ("and", "I-ACTOR"), ("Kyrgyzstan", "I-ACTOR"), ("Jammu", "B-LOCATION"),
      ("and", "I-LOCATION"), ("Kashmir", "I-LOCATION")],
     [("Tajikistan", "ACTOR"), ("Kyrgyzstan", "ACTOR"), ("Jammu and Kashmir", "LOCATION")]),
    # seed 001: two leaders' names; an institution's name with "and" in it stays whole
    ("Sadir Zhaparov and Emomali Rakhmon met the Defence and Security Forces.",
     [("Sadir", "B-ACTOR"), ("Zhaparov", "I-ACTOR"), ("and", "I-ACTOR"), ("Emomali", "I-ACTOR"),
      ("Rakhmon", "I-ACTOR"), ("Defence", "B-ACTOR"), ("and", "I-ACTOR"), ("Security", "I-ACTOR"),
      ("Forces", "I-ACTOR")],
     [("Sadir Zhaparov", "ACTOR"), ("Emomali Rakhmon", "ACTOR"), ("Defence and Security Forces", "ACTOR")]),
    # seed 004: the possessor of a place contains it ("Tajikistan’s Surkh jamoat"), never an actor
    ("Agencies held talks in Tajikistan’s Surkh jamoat.",
     [("Tajikistan", "B-ACTOR"), ("Surkh", "B-LOCATION"), ("jamoat", "I-LOCATION")],
     [("Tajikistan", "LOCATION"), ("Surkh jamoat", "LOCATION")]),
]


@pytest.mark.parametrize("text, words, want", PLACES, ids=[p[0][:40] for p in PLACES])
def test_places_come_out_as_the_guidelines_have_them(tokenizer, text, words, want):
    tdoc, logp = _noisy(tokenizer, text, words)
    assert _spans(tdoc, decode(tdoc, logp, DEMONYMS)) == want


@pytest.mark.parametrize("text, words, want", [
    # seed 001: "the lack of a border delimitation agreement" became a ceasefire, and took Voruj as its place
    ("The lack of a border delimitation agreement near Voruj is at the root of the conflict.",
     [("border", "B-CEASEFIRE"), ("delimitation", "I-CEASEFIRE"), ("agreement", "I-CEASEFIRE"),
      ("Voruj", "B-LOCATION"), ("conflict", "B-CLASH")],
     [("Voruj", "LOCATION"), ("conflict", "CLASH")]),
    ("No new clashes were reported overnight.", [("clashes", "B-CLASH")], []),
    # the review's: "no" that negates another noun, and a headline's "no" before the next line
    ("No casualties from shelling were reported.", [("shelling", "B-CLASH")], [("shelling", "CLASH")]),
    ("Tajikistan says no\nClashes erupted on Friday.", [("Clashes", "B-CLASH")], [("Clashes", "CLASH")]),
    ("The ministry did not deny the air strikes.", [("air", "B-CLASH"), ("strikes", "I-CLASH")],
     [("air strikes", "CLASH")]),
])
def test_a_negated_trigger_is_no_event(tokenizer, text, words, want):
    tdoc, logp = _noisy(tokenizer, text, words)
    assert _spans(tdoc, decode(tdoc, logp)) == want
