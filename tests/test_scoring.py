"""Scorers on small hand-computed cases."""

import pytest
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from clashwatch.scoring import (
    EvaluationError,
    iob2_tags,
    match_records,
    score,
    score_event_records,
    tokenize,
)
from clashwatch.schema import Document, Relation, Span

TEXT = "Tajik troops clashed with Kyrgyz border guards in Batken on Friday. Fighting went on."


def span(sid, text, label, occurrence=0, t=TEXT):
    start = -1
    for _ in range(occurrence + 1):
        start = t.index(text, start + 1)
    return Span(sid, start, start + len(text), label, text)


def gold_doc():
    spans = [
        span("a1", "Tajik troops", "ACTOR"),
        span("c1", "clashed", "CLASH"),
        span("a2", "Kyrgyz border guards", "ACTOR"),
        span("l1", "Batken", "LOCATION"),
        span("t1", "Friday", "TIME"),
        span("c2", "Fighting", "CLASH"),
    ]
    rels = [
        Relation("c1", "a1", "participant"),
        Relation("c1", "a2", "participant"),
        Relation("c1", "l1", "place"),
        Relation("c2", "t1", "time"),
        Relation("c2", "c1", "same_event"),
    ]
    return Document("d1", TEXT, spans, rels)


def approx(x):
    return pytest.approx(x, abs=1e-9)


def test_perfect_prediction():
    g = gold_doc()
    r = score([g], [gold_doc()])
    assert set(r["headline"]) == {"span_f1_strict", "char_span_f1", "relation_f1", "trigger_cls_f1",
                                  "argument_cls_f1", "event_micro_f1", "records_f1", "killed_in_record_f1"}
    for name, value in r["headline"].items():
        if name != "killed_in_record_f1":  # no killed figure in this gold: 0/0/0 reads 0.0 (see the docstring)
            assert value == 1.0, name
    assert r["records"]["pooled"]["killed_in_record"]["support"] == 0
    assert r["events"]["records"]["tp"] == 1
    assert r["events"]["fields"]["times"]["tp"] == 1


def test_events_from_documents_missing_argument():
    p = gold_doc()
    p.relations = [r for r in p.relations if r.label != "place"]
    ev = score([gold_doc()], [p])["events"]
    assert ev["fields"]["locations"]["fn"] == 1 and ev["fields"]["locations"]["tp"] == 0
    assert (ev["micro"]["tp"], ev["micro"]["fp"], ev["micro"]["fn"]) == (3, 0, 1)


def test_partial_overlap_wrong_label_duplicate():
    g = gold_doc()
    p = Document("d1", TEXT, [
        span("x1", "Tajik troops", "ACTOR"),        # tp
        span("x2", "border guards", "ACTOR"),       # partial overlap: fp + the gold one fn
        span("x3", "Batken", "TIME"),               # wrong label: fp, gold LOCATION fn
        span("x4", "clashed", "CLASH"),             # tp
        span("x5", "clashed", "CLASH"),             # duplicate: fp
    ])
    r = score([g], [p], events=False)
    char = r["spans_char"]
    # tp 2 (Tajik troops, clashed), fp 3, fn 4 (Kyrgyz border guards, Batken, Friday, Fighting)
    assert (char["micro"]["tp"], char["micro"]["fp"], char["micro"]["fn"]) == (2, 3, 4)
    assert char["micro"]["precision"] == approx(2 / 5)
    assert char["micro"]["recall"] == approx(2 / 6)
    assert char["micro"]["f1"] == approx(2 * 0.4 * (1 / 3) / (0.4 + 1 / 3))
    assert char["per_label"]["ACTOR"]["precision"] == approx(0.5)
    assert char["per_label"]["ACTOR"]["recall"] == approx(0.5)
    assert char["per_label"]["CLASH"]["precision"] == approx(0.5)
    assert char["per_label"]["CLASH"]["recall"] == approx(0.5)
    assert char["per_label"]["LOCATION"]["f1"] == 0.0
    # tags cannot carry a duplicate: seqeval sees tp 2, fp 2, fn 4
    iob = r["spans_iob2"]["micro"]
    assert (iob["tp"], iob["fp"], iob["fn"]) == (2, 2, 4)
    assert iob["precision"] == approx(0.5)
    assert iob["recall"] == approx(1 / 3)


def test_iob2_counts_agree_with_seqeval_report():
    g, p = gold_doc(), Document("d1", TEXT, [span("x", "Tajik troops", "ACTOR"), span("y", "Kyrgyz", "ACTOR")])
    tokens = tokenize(TEXT)
    report = classification_report([iob2_tags(g, tokens)], [iob2_tags(p, tokens)], mode="strict", scheme=IOB2,
                                   output_dict=True, zero_division=0)
    r = score([g], [p], events=False)["spans_iob2"]
    assert r["micro"]["precision"] == approx(report["micro avg"]["precision"])
    assert r["micro"]["recall"] == approx(report["micro avg"]["recall"])
    assert r["per_label"]["ACTOR"]["f1"] == approx(report["ACTOR"]["f1-score"])


def test_tokenisation_and_tags():
    t = "At least 49 people, killed."
    assert [t[a:b] for a, b in tokenize(t)] == ["At", "least", "49", "people", ",", "killed", "."]
    d = Document("d", t, [Span("k", 0, 18, "KILLED", "At least 49 people")])
    assert iob2_tags(d, tokenize(t)) == ["B-KILLED", "I-KILLED", "I-KILLED", "I-KILLED", "O", "O", "O"]


def test_empty_prediction():
    r = score([gold_doc()], [], events=False)
    assert r["missing_predictions"] == ["d1"]
    for key in ("spans_iob2", "spans_char", "relations"):
        m = r[key]["micro"]
        assert (m["precision"], m["recall"], m["f1"], m["tp"], m["fp"]) == (0.0, 0.0, 0.0, 0, 0)
    assert r["spans_char"]["micro"]["fn"] == 6
    assert r["relations"]["micro"]["fn"] == 5


def test_empty_gold_and_empty_prediction_is_zero_with_zero_counts():
    g = Document("d1", TEXT)
    r = score([g], [Document("d1", TEXT)], events=False)
    for key in ("spans_iob2", "spans_char", "relations"):
        m = r[key]["micro"]
        assert (m["precision"], m["recall"], m["f1"], m["tp"], m["fp"], m["fn"]) == (0.0, 0.0, 0.0, 0, 0, 0)


def test_empty_gold_with_predictions_is_all_fp():
    r = score([Document("d1", TEXT)], [gold_doc()], events=False)
    m = r["spans_char"]["micro"]
    assert (m["tp"], m["fp"], m["fn"], m["precision"], m["recall"]) == (0, 6, 0, 0.0, 0.0)


def test_unknown_document_and_changed_text_raise():
    with pytest.raises(EvaluationError, match="unknown document"):
        score([gold_doc()], [Document("other", TEXT)], events=False)
    with pytest.raises(EvaluationError, match="different text"):
        score([gold_doc()], [Document("d1", TEXT + " ")], events=False)


def test_relation_strict_vs_mention_agnostic_arguments():
    g = gold_doc()
    p = gold_doc()
    # the time argument is linked to the first mention of the same event instead of the second
    p.relations = [r for r in p.relations if r.label != "time"] + [Relation("c1", "t1", "time")]
    r = score([g], [p], events=False)
    assert r["relations"]["per_label"]["time"]["f1"] == 0.0
    assert r["relations"]["micro"]["tp"] == 4 and r["relations"]["micro"]["fp"] == 1
    assert r["arguments"]["classification"]["f1"] == 1.0
    # a wrong role: identification holds, classification does not
    p.relations = [r for r in p.relations if r.head != "c1" or r.tail != "l1"] + [Relation("c1", "l1", "time")]
    r = score([g], [p], events=False)
    assert r["arguments"]["identification"]["f1"] == 1.0
    assert r["arguments"]["classification"]["precision"] == approx(3 / 4)


def test_triggers_identification_vs_classification():
    g = gold_doc()
    p = Document("d1", TEXT, [span("x", "clashed", "CEASEFIRE"), span("y", "Fighting", "CLASH")])
    r = score([g], [p], events=False)["triggers"]
    assert r["identification"]["f1"] == 1.0
    assert r["classification"]["precision"] == approx(0.5)
    assert r["classification"]["recall"] == approx(0.5)


def record(event_type, **fields):
    return {"event_type": event_type, **fields}


def test_event_matching_one_to_one_by_shared_arguments():
    gold = [
        record("armed_clash", actors=["Tajik troops"], locations=["Batken"], killed=[{"text": "49 people", "value": 49}]),
        record("armed_clash", actors=["Taliban"], locations=["Kabul"]),
        record("ceasefire", actors=["Tajik troops"]),
    ]
    pred = [
        record("armed_clash", actors=["taliban"], locations=["Kabul"]),
        record("armed_clash", actors=["Tajik troops"], locations=["Batken"], killed=[{"text": "49", "value": 49}]),
        record("ceasefire", actors=["Russia"]),
    ]
    assert sorted(match_records(gold, pred)) == [(0, 1), (1, 0)]
    r = score_event_records({"d": gold}, {"d": pred})
    assert r["records"]["tp"] == 2 and r["records"]["fp"] == 1 and r["records"]["fn"] == 1
    assert r["fields"]["actors"]["tp"] == 2 and r["fields"]["actors"]["fp"] == 1 and r["fields"]["actors"]["fn"] == 1
    assert r["fields"]["killed"]["f1"] == 1.0
    assert r["casualty_exact"] == {"exact": 1, "total": 1, "accuracy": 1.0}
    m = r["micro"]  # actors 2/1/1, locations 2/0/0, killed 1/0/0
    assert (m["tp"], m["fp"], m["fn"]) == (5, 1, 1)


def test_event_records_different_type_never_match():
    assert match_records([record("armed_clash", actors=["A"])], [record("ceasefire", actors=["A"])]) == []


def _record_doc(text, spans, relations):
    from clashwatch.schema import Document, Relation, Span

    out, cursor = [], {}
    for sid, label, surface in spans:
        start = text.index(surface, cursor.get(surface, 0))
        cursor[surface] = start + 1
        out.append(Span(sid, start, start + len(surface), label, surface))
    return Document("d", text, out, [Relation(h, t, lab) for h, t, lab in relations])


RECORD_TEXT = "Troops clashed in Osh. Five soldiers died in the fighting. A truce was agreed. The clashes resumed."


def test_record_metrics_match_by_overlapping_triggers_and_count_figures_in_the_right_record():
    from clashwatch.scoring import record_counts

    spans = [("A", "ACTOR", "Troops"), ("C1", "CLASH", "clashed"), ("L", "LOCATION", "Osh"),
             ("K", "KILLED", "Five soldiers"), ("C2", "CLASH", "fighting"), ("T", "CEASEFIRE", "truce"),
             ("C3", "CLASH", "clashes")]
    gold = _record_doc(RECORD_TEXT, spans, [("C1", "A", "participant"), ("C1", "L", "place"), ("C2", "C1", "same_event"),
                                            ("C2", "K", "toll"), ("C3", "C2", "same_event")])
    # the prediction splits the flare-up: "clashes resumed" becomes a record of its own, the toll stays right
    split = _record_doc(RECORD_TEXT, spans, [("C1", "A", "participant"), ("C1", "L", "place"),
                                             ("C2", "C1", "same_event"), ("C2", "K", "toll")])
    counts = record_counts(gold, split)
    assert counts["records"] == [2, 1, 0]  # clash and truce matched, the extra "clashes" record is a false one
    assert counts["killed_in_record"] == [1, 0, 0] and counts["actors_in_record"] == [1, 0, 0]
    # the toll in the wrong record: the prediction links it to a separate "clashes" event
    wrong = _record_doc(RECORD_TEXT, spans, [("C1", "A", "participant"), ("C1", "L", "place"),
                                             ("C2", "C1", "same_event"), ("C3", "K", "toll")])
    counts = record_counts(gold, wrong)
    assert counts["killed_in_record"][0] == 0 and counts["killed_in_record"][1] == 1


def test_score_reports_records_per_article_and_pooled():
    from clashwatch.scoring import score

    spans = [("C1", "CLASH", "clashed"), ("K", "KILLED", "Five soldiers"), ("C2", "CLASH", "fighting")]
    gold = _record_doc(RECORD_TEXT, spans, [("C2", "C1", "same_event"), ("C2", "K", "toll")])
    result = score([gold], [gold])
    assert result["records"]["pooled"]["records"]["f1"] == 1.0
    assert result["records"]["per_article"]["d"]["killed_in_record"]["f1"] == 1.0
    assert result["headline"]["records_f1"] == 1.0 and result["headline"]["killed_in_record_f1"] == 1.0
