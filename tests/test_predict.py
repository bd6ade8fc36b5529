"""The predict API on the tiny model: shapes, confidences, batching, bad input, long texts."""

from __future__ import annotations

import pytest

from clashwatch.predict import BatchItemError, Extraction, Extractor
from clashwatch.schema import ModelNotFoundError

pytestmark = pytest.mark.slow


def test_missing_model_says_how_to_train(tmp_path, monkeypatch):
    with pytest.raises(ModelNotFoundError, match="clashwatch train --config train/default.yaml"):
        Extractor.load(tmp_path / "nothing")
    monkeypatch.setenv("CLASHWATCH_MODEL", str(tmp_path / "nothing"))
    with pytest.raises(ModelNotFoundError):
        Extractor.load()


def test_extract_gives_scored_spans_and_relations(tiny_extractor, fixture_doc):
    ex = tiny_extractor.extract(fixture_doc.text, doc_id="a")
    assert isinstance(ex, Extraction) and ex.doc_id == "a" and ex.text == fixture_doc.text
    assert ex.spans and ex.relations
    ids = {s.id for s in ex.spans}
    for s in ex.spans:
        assert ex.text[s.start : s.end] == s.text and 0 < s.score <= 1
    for r in ex.relations:
        assert r.head in ids and r.tail in ids and 0 < r.score <= 1
    d = ex.to_dict()
    assert set(d) >= {"doc_id", "text", "spans", "relations", "events"}
    result = ex.to_label_studio()
    assert sorted(i["value"]["start"] for i in result if i["type"] == "labels") == sorted(s.start for s in ex.spans)
    assert sum(i["type"] == "relation" for i in result) == len(ex.relations)
    assert all(0 < i["score"] <= 1 for i in result)
    assert ex.to_document().spans == ex.spans


def test_bad_and_empty_input(tiny_extractor):
    with pytest.raises(TypeError):
        tiny_extractor.extract(b"bytes")
    for text in ("", "   \n"):
        ex = tiny_extractor.extract(text)
        assert ex.spans == [] and ex.relations == [] and ex.events == []


def test_batch_matches_single_and_isolates_errors(tiny_extractor, fixture_doc):
    texts = [fixture_doc.text[:800], None, "", fixture_doc.text]
    out = list(tiny_extractor.extract_batch(texts, batch_size=3, doc_ids=["a", "b", "c", "d"]))
    assert isinstance(out[1], BatchItemError) and out[1].doc_id == "b"
    assert [o.doc_id for o in out if not isinstance(o, BatchItemError)] == ["a", "c", "d"]
    single = tiny_extractor.extract(fixture_doc.text)
    assert [(s.start, s.end, s.label) for s in out[3].spans] == [(s.start, s.end, s.label) for s in single.spans]


def test_long_text_is_windowed_not_truncated(tiny_extractor, fixture_doc):
    """200,000 characters through a one-layer stand-in encoder (same code path, a fraction of the time)."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from clashwatch.data import ID2LABEL
    from clashwatch.modeling import JointModel, RelationHead

    config = BertConfig(vocab_size=tiny_extractor.tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, id2label=dict(ID2LABEL))
    model = JointModel(BertForTokenClassification(config), RelationHead(32, 8, 16))
    with torch.no_grad():  # tags O everywhere: this test is about reading every window, not about spans
        model.tagger.classifier.weight.zero_()
        model.tagger.classifier.bias.zero_()
        model.tagger.classifier.bias[0] = 1.0
    extractor = Extractor(model, tiny_extractor.tokenizer, max_length=128, stride=32)
    seen = []
    encode = model.encode
    model.encode = lambda ids, mask: seen.append(int(mask.sum()) - 2 * mask.size(0)) or encode(ids, mask)
    text = (fixture_doc.text + "\n") * 58
    assert len(text) > 200_000
    ex = extractor.extract(text)
    assert ex.text == text and all(text[s.start : s.end] == s.text for s in ex.spans)
    assert max(mask for mask in seen) <= 16 * 128  # bounded batches
    from clashwatch.data import tokenize_document

    assert sum(seen) >= len(tokenize_document(text, extractor.tokenizer)) > 30_000  # every token read


def test_published_accepts_a_date_or_an_iso_string():
    from datetime import date, datetime

    from clashwatch.predict import as_date

    assert as_date("2022-09-17") == as_date(datetime(2022, 9, 17, 8)) == date(2022, 9, 17)
    assert as_date(None) is None
    with pytest.raises(ValueError, match="ISO date"):
        as_date("17/09/2022")
    with pytest.raises(TypeError):
        as_date(20220917)
