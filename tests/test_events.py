import json
from datetime import date

import pytest

from clashwatch.events import Event, acled_fatalities, assemble_events, normalize_figure, normalize_time, population
from clashwatch.schema import Document, Relation, Span


@pytest.mark.parametrize(
    "text, value, qualifier, value_range",
    [
        ("Thirty-five citizens", 35, "exact", None),
        ("Nearly 10,000 civilians", 10000, "at_most", None),
        ("more than 200 wounded", 200, "at_least", None),
        ("dozens", 24, "vague", None),
        ("At least 49 people", 49, "at_least", None),
        ("Almost fifty deaths", 50, "at_most", None),
        ("one Tajik border guard", 1, "exact", None),
        ("at least ten others", 10, "at_least", None),
        ("two Tajik nationals", 2, "exact", None),
        ("several dead", 3, "vague", None),
        ("between 15 and 20 people", 15, "at_least", (15, 20)),
        ("ten thousand", 10000, "exact", None),
        ("eleven Kyrgyz nationals", 11, "exact", None),
        ("Forty-six", 46, "exact", None),
        ("over 300 houses", 300, "at_least", None),
        ("up to 12 soldiers", 12, "at_most", None),
        ("about 40 people", 40, "approx", None),
        ("Some 3,000 residents", 3000, "approx", None),
        ("hundreds of families", 200, "vague", None),
        ("thousands of villagers", 2000, "vague", None),
        ("a soldier", 1, "exact", None),
        ("several dozen soldiers", 36, "vague", None),  # vague, not "several" or "a dozen"
        ("a few soldiers", 2, "vague", None),
        ("a number of civilians", 2, "vague", None),
        ("100-150 people", 100, "at_least", (100, 150)),
        ("one hundred and five people", 105, "exact", None),
        ("two dozen", 24, "exact", None),
    ],
)
def test_normalize_figure(text, value, qualifier, value_range):
    figure = normalize_figure(text)
    assert (figure.value, figure.qualifier, figure.range) == (value, qualifier, value_range)


SATURDAY = date(2021, 5, 1)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Saturday", "2021-05-01"),  # published on that weekday itself -> the same day
        ("on Friday", "2021-04-30"),
        ("early Friday", "2021-04-30"),
        ("late Tuesday night", "2021-04-27"),
        ("1000 GMT Friday", "2021-04-30"),
        ("Sunday", "2021-04-25"),
        ("January 27", "2021-01-27"),
        ("27 January", "2021-01-27"),
        ("May 1, 2021", "2021-05-01"),
        ("9:00 a.m. Moscow time on September 13", "2020-09-13"),  # never after publication: last year's
        ("today", "2021-05-01"),
        ("yesterday", "2021-04-30"),
        ("April 2021", "2021-04"),
        ("2022", "2022"),
        ("the night of 12 September", "2020-09-12"),
        ("three days ago", "2021-04-28"),
        ("dawn", None),
        ("the evening", None),
        ("overnight", None),
    ],
)
def test_normalize_time(text, expected):
    assert normalize_time(text, SATURDAY) == expected


def test_a_yearless_date_is_never_after_publication():
    assert normalize_time("December 30", date(2027, 1, 3)) == "2026-12-30"
    assert normalize_time("January 2", date(2027, 1, 3)) == "2027-01-02"
    assert normalize_time("30 December 2027", date(2027, 1, 3)) == "2027-12-30"  # a written year is kept


def test_normalize_time_without_publication_date():
    assert normalize_time("Friday", None) is None
    assert normalize_time("January 27", None) is None
    assert normalize_time("May 1, 2021", None) == "2021-05-01"


def build_doc(text: str, spans: list[tuple[str, str, str]], relations: list[tuple[str, str, str]]) -> Document:
    """spans: (id, label, surface text found left to right after the previous occurrence of the same text)."""
    built, cursor = [], {}
    for sid, label, surface in spans:
        start = text.index(surface, cursor.get(surface, 0))
        cursor[surface] = start + 1
        built.append(Span(sid, start, start + len(surface), label, surface))
    return Document("doc1", text, built, [Relation(h, t, label) for h, t, label in relations])


TEXT = (
    "Kyrgyz and Tajik border guards clashed in Batken on Wednesday. "
    "The Kyrgyz health ministry said two Tajik nationals and eleven Kyrgyz nationals died in the fighting, "
    "in which mortars were used. "
    "Tajik officials said the clashes killed at least 20 people. "
    "Both sides agreed a ceasefire on Thursday, brokered by Russia. "
    "In April 2021, violence in Vorukh left more than 50 dead."
)
SPANS = [
    ("T1", "ACTOR", "Kyrgyz and Tajik border guards"),
    ("T2", "CLASH", "clashed"),
    ("T3", "LOCATION", "Batken"),
    ("T4", "TIME", "Wednesday"),
    ("T5", "ACTOR", "Kyrgyz health ministry"),
    ("T6", "KILLED", "two Tajik nationals"),
    ("T7", "KILLED", "eleven Kyrgyz nationals"),
    ("T8", "CLASH", "fighting"),
    ("T9", "WEAPON", "mortars"),
    ("T10", "ACTOR", "Tajik officials"),
    ("T11", "CLASH", "clashes"),
    ("T12", "KILLED", "at least 20 people"),
    ("T13", "CEASEFIRE", "ceasefire"),
    ("T14", "TIME", "Thursday"),
    ("T15", "ACTOR", "Russia"),
    ("T16", "TIME", "April 2021"),
    ("T17", "CLASH", "violence"),
    ("T18", "LOCATION", "Vorukh"),
    ("T19", "KILLED", "more than 50 dead"),
]
RELATIONS = [
    ("T2", "T1", "participant"), ("T2", "T3", "place"), ("T2", "T4", "time"),
    ("T8", "T2", "same_event"), ("T8", "T6", "toll"), ("T8", "T7", "toll"), ("T8", "T9", "weapon"),
    ("T6", "T5", "reported_by"), ("T7", "T5", "reported_by"),
    ("T11", "T8", "same_event"), ("T11", "T12", "toll"), ("T12", "T10", "reported_by"),
    ("T13", "T14", "time"), ("T13", "T15", "mediator"),
    ("T17", "T16", "time"), ("T17", "T18", "place"), ("T17", "T19", "toll"),
]


def test_assemble_events_components_and_arguments():
    events = assemble_events(build_doc(TEXT, SPANS, RELATIONS), published=date(2022, 9, 17))
    assert [e.event_type for e in events] == ["armed_clash", "ceasefire", "armed_clash"]
    clash, ceasefire, earlier = events
    assert clash.trigger_texts == ["clashed", "fighting", "clashes"]
    assert clash.actors == ["Kyrgyz and Tajik border guards"]
    assert clash.locations == ["Batken"] and clash.weapons == ["mortars"]
    assert [(t.text, t.iso) for t in clash.times] == [("Wednesday", "2022-09-14")]
    assert [(k.text, k.value, k.qualifier, k.reported_by) for k in clash.killed] == [
        ("two Tajik nationals", 2, "exact", ["Kyrgyz health ministry"]),
        ("eleven Kyrgyz nationals", 11, "exact", ["Kyrgyz health ministry"]),
        ("at least 20 people", 20, "at_least", ["Tajik officials"]),
    ]
    assert clash.evidence.sentence == "Kyrgyz and Tajik border guards clashed in Batken on Wednesday."
    assert {s.text for s in clash.evidence.spans} >= {"clashed", "fighting", "clashes", "mortars", "Batken"}
    assert ceasefire.mediators == ["Russia"] and ceasefire.actors == []
    assert [t.iso for t in ceasefire.times] == ["2022-09-15"]
    # another episode with no same_event link stays a separate event
    assert earlier.locations == ["Vorukh"] and [t.iso for t in earlier.times] == ["2021-04"]
    assert [k.value for k in earlier.killed] == [50]
    assert all(e.confidence == 1.0 and e.doc_id == "doc1" for e in events)


def test_assemble_events_two_chains_deduplicated_and_scored():
    text = "Troops clashed. Guards clashed again. The clashes spread. The fighting went on. The Troops fled."
    doc = build_doc(text, [("a", "CLASH", "clashed"), ("b", "CLASH", "clashed"), ("c", "CLASH", "clashes"),
                           ("d", "CLASH", "fighting"), ("x", "ACTOR", "Troops"), ("y", "ACTOR", "Troops")],
                    [("c", "a", "same_event"), ("d", "b", "same_event"), ("a", "x", "participant"),
                     ("c", "y", "participant")])
    doc.spans[0].score, doc.spans[2].score = 0.8, 0.6
    doc.relations[0].score = 0.5
    events = assemble_events(doc)
    assert [e.trigger_texts for e in events] == [["clashed", "clashes"], ["clashed", "fighting"]]
    assert events[0].actors == ["Troops"]  # "Troops" and "The Troops"' span "Troops" dedupe
    assert events[0].confidence == pytest.approx(0.7 * (0.5 + 1 + 1) / 3, abs=1e-4)
    assert events[1].actors == []


def test_event_to_dict_is_json():
    record = assemble_events(build_doc(TEXT, SPANS, RELATIONS))[0].to_dict()
    assert json.loads(json.dumps(record)) == record
    assert set(record) >= {"event_type", "actors", "mediators", "locations", "times", "weapons", "killed",
                           "injured", "displaced", "evidence", "confidence", "trigger_texts", "doc_id"}
    assert record["times"] == [{"text": "Wednesday", "iso": None}]
    assert record["evidence"]["spans"][0] == {"start": 0, "end": 30, "label": "ACTOR",
                                              "text": "Kyrgyz and Tajik border guards"}


def event_with(*figures: tuple[str, list[str]]) -> Event:
    from clashwatch.events import FigureRecord

    killed = []
    for text, reporters in figures:
        f = normalize_figure(text)
        killed.append(FigureRecord(text, f.value, f.qualifier, f.range, reporters))
    return Event("d", "armed_clash", ["clashes"], killed=killed)


def test_population():
    assert population("At least 49 people") == frozenset()
    assert population("dozens dead") == frozenset()
    assert population("two Tajik nationals") == {"tajik", "national"}
    assert population("six soldiers") == {"soldier"}


@pytest.mark.parametrize(
    "figures, expected",
    [
        ([], None),
        ([("At least 49 people", ["A"])], 49),
        # competing totals from different reporters -> the lowest
        ([("At least 49 people", ["A"]), ("Almost fifty deaths", ["B"]), ("31 people", [])], 31),
        # a breakdown of disjoint sides from one reporter -> the sum
        ([("six soldiers", ["A"]), ("five civilians", ["A"])], 11),
        ([("two Tajik nationals", ["A"]), ("eleven Kyrgyz nationals", ["A"])], 13),
        # each side reporting its own dead -> disjoint sides, summed
        ([("eleven Kyrgyz nationals", ["Kyrgyz ministry"]), ("two Tajik nationals", ["Tajik officials"])], 13),
        # the same population from two reporters -> the lowest, plus the other side
        ([("eleven Kyrgyz nationals", ["A"]), ("two Tajik nationals", ["A"]), ("ten Kyrgyz nationals", ["B"])], 12),
        # a total is never below the sum of its disjoint parts
        ([("six soldiers", ["A"]), ("five civilians", ["A"]), ("four Valdorian servicemen", ["B"]),
          ("at least 11 people", [])], 15),
        # a total above its known parts stands
        ([("14 people", ["B"]), ("two border guards", ["B"]), ("at least 20 people", ["A"])], 14),
        # figures without a value are ignored
        ([("many dead", [])], None),
    ],
)
def test_acled_fatalities(figures, expected):
    event = event_with(*figures)
    assert acled_fatalities(event) == expected
    assert acled_fatalities(event.to_dict()) == expected
