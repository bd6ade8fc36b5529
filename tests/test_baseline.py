"""The lexicon-and-pattern baseline on a seed sentence."""

from pathlib import Path

from clashwatch.baseline import extract
from clashwatch.validate import check_document
from clashwatch.scoring import score

SEED = (Path(__file__).resolve().parents[1] / "annotations" / "seeds" / "000_db04a95a72ef5216.txt")
TEXT = ("Tajikistan and Kyrgyzstan have agreed on another truce to end days of clashes at their shared border.\n"
        "Nearly 10,000 civilians have been evacuated from the conflict zone.\n"
        "At least 49 people have so far been killed in the clashes.\n"
        "The ceasefire announcement came hours after Bishkek said Tajik troops opened fire on dwellings in "
        "Batken's Leilik district on Saturday.")


def labelled(doc):
    return {(s.text, s.label) for s in doc.spans}


def test_baseline_finds_figures_triggers_and_arguments():
    doc = extract(TEXT, "t")
    found = labelled(doc)
    assert ("At least 49 people", "KILLED") in found
    assert ("Nearly 10,000 civilians", "DISPLACED") in found
    assert ("ceasefire", "CEASEFIRE") in found
    assert ("truce", "CEASEFIRE") in found
    assert ("opened fire", "CLASH") in found
    assert ("Tajik troops", "ACTOR") in found
    assert ("Leilik district", "LOCATION") in found
    assert ("Saturday", "TIME") in found


def test_baseline_links_to_nearest_trigger_and_is_valid():
    doc = extract(TEXT, "t")
    spans = doc.span_by_id()
    links = {(spans[r.head].text, r.label, spans[r.tail].text) for r in doc.relations}
    assert ("clashes", "toll", "At least 49 people") in links
    assert ("opened fire", "participant", "Tajik troops") in links
    assert not check_document(doc)  # no overlaps, trimmed, allowed relations, same_event backwards


def test_baseline_on_a_seed_article_scores_against_its_gold():
    from clashwatch.corpus import load_export

    gold = next(d for d in load_export(SEED.parents[1] / "gold.json") if d.doc_id == SEED.name)
    doc = extract(gold.text, gold.doc_id)
    assert ("At least 49 people", "KILLED") in labelled(doc)
    assert not check_document(doc)
    result = score([gold], [doc])
    # tuned on the seeds, the rules find most spans, but they are no gold: neither near 0 nor perfect
    assert 0.6 < result["headline"]["char_span_f1"] < 0.95
    assert result["records"]["pooled"]["records"]["tp"] >= 1
    assert score([gold], [gold])["headline"]["char_span_f1"] == 1.0
