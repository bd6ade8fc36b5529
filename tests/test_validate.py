"""The validator: hard rules (errors) and the guidelines' consistency checks (warnings)."""

from clashwatch.schema import Document, Relation, Span
from clashwatch.validate import check_document, lint_document, sentence_bounds


def _sentences(text):
    return [text[a:b] for a, b in sentence_bounds(text)]


def test_titles_before_names_do_not_end_a_sentence():
    text = "Brig. Gen. Ivanov said two soldiers died. Pres. Japarov called for calm at 8 p.m. on Monday."
    assert _sentences(text) == ["Brig. Gen. Ivanov said two soldiers died.",
                                "Pres. Japarov called for calm at 8 p.m. on Monday."]


def test_line_breaks_always_end_a_sentence():
    assert _sentences("BORDER CLASHES KILL 12\n\nTroops fired mortars") == ["BORDER CLASHES KILL 12", "Troops fired mortars"]


def _doc(text, spans, relations=()):
    return Document("d", text, [Span(f"T{i}", text.index(t), text.index(t) + len(t), label, t)
                                for i, (t, label) in enumerate(spans, 1)], list(relations))


def test_a_span_across_a_line_break_is_an_error_across_a_sentence_a_warning():
    doc = _doc("Clashes in Osh\n\nRegion said", [("Osh\n\nRegion", "LOCATION")])
    assert [e.rule for e in check_document(doc)] == ["line_break"]
    doc = _doc("Clashes near Osh. Region troops fired.", [("Osh. Region", "LOCATION")])
    assert check_document(doc) == []
    assert "sentence" in [w.rule for w in lint_document(doc)]


def test_lint_finds_unlinked_arguments_figures_without_quantity_and_chain_skips():
    text = "Troops clashed in Osh. The fighting went on. Soldiers died in the shelling."
    doc = _doc(text, [("Troops", "ACTOR"), ("clashed", "CLASH"), ("Osh", "LOCATION"), ("fighting", "CLASH"),
                      ("Soldiers", "KILLED"), ("shelling", "CLASH")],
               [Relation("T2", "T1", "participant"), Relation("T4", "T2", "same_event"),
                Relation("T6", "T2", "same_event"), Relation("T6", "T5", "toll")])
    rules = {(w.item, w.rule) for w in lint_document(doc)}
    assert ("T3", "unlinked") in rules  # Osh has no place link
    assert ("T5", "quantity") in rules  # "Soldiers" counts nobody
    assert ("T6", "chain_skip") in rules  # shelling skips fighting, the closest earlier mention
    assert ("T1", "unlinked") not in rules


def test_a_clean_document_has_no_warnings():
    text = "Troops clashed in Osh. Two soldiers died in the fighting."
    doc = _doc(text, [("Troops", "ACTOR"), ("clashed", "CLASH"), ("Osh", "LOCATION"), ("Two soldiers", "KILLED"),
                      ("fighting", "CLASH")],
               [Relation("T2", "T1", "participant"), Relation("T2", "T3", "place"), Relation("T5", "T2", "same_event"),
                Relation("T5", "T4", "toll")])
    assert lint_document(doc) == []


def test_lint_finds_an_argument_linked_twice_to_one_event():
    text = "Troops clashed in Osh. The fighting went on."
    doc = _doc(text, [("Troops", "ACTOR"), ("clashed", "CLASH"), ("Osh", "LOCATION"), ("fighting", "CLASH")],
               [Relation("T2", "T1", "participant"), Relation("T2", "T3", "place"), Relation("T4", "T2", "same_event"),
                Relation("T4", "T1", "participant")])
    assert ("T1", "duplicate_role") in {(w.item, w.rule) for w in lint_document(doc)}
