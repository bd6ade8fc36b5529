"""The predict API on the tiny model: shapes, confidences, batching, bad input, long texts."""

from __future__ import annotations

import pytest
import torch

from clashwatch.predict import BatchItemError, Extraction, Extractor
from clashwatch.schema import ModelNotFoundError, Span

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


class _TagsOneWord(torch.nn.Module):
    """A stand-in encoder that tags every occurrence of one token B-CLASH (and O elsewhere): cheap, and a
    window that is never read shows up as a missing span."""

    def __init__(self, token_id: int, hidden: int = 16):
        super().__init__()
        from clashwatch.data import LABEL2ID
        from clashwatch.modeling import RelationHead

        self.token_id, self.hidden, self.tag = token_id, hidden, LABEL2ID["B-CLASH"]
        self.relation_head, self.event_head = RelationHead(hidden, 4, 8), None
        self.windows = []

    def encode(self, ids, mask):
        self.windows.append(int(mask.sum()))
        logits = torch.full((*ids.shape, 19), -10.0)
        logits[..., 0] = 0.0
        logits[..., self.tag] = torch.where(ids == self.token_id, 10.0, -10.0)
        return logits, torch.zeros((*ids.shape, self.hidden))


def test_long_text_is_windowed_not_truncated(tiny_extractor, fixture_doc, monkeypatch):
    """200,000 characters through a stand-in encoder that tags one word: every occurrence comes out with
    the right offsets, and the windows cover every token."""
    import re

    import clashwatch.predict as predict
    from clashwatch.data import tokenize_document

    tokenizer = tiny_extractor.tokenizer
    model = _TagsOneWord(tokenizer.convert_tokens_to_ids("clashes"))
    extractor = Extractor(model, tokenizer, max_length=128, stride=32, grouping="prior")
    ranges = []
    real = predict.sorted_windows

    def recording(tdocs, *args):
        windows, owners = real(tdocs, *args)
        ranges.extend((w["token_start"], w["token_end"]) for _, _, w in windows)
        return windows, owners

    monkeypatch.setattr(predict, "sorted_windows", recording)
    text = (fixture_doc.text + "\n") * 58
    assert len(text) > 200_000
    ex = extractor.extract(text)
    expected = [m.span() for m in re.finditer(r"\bclashes\b", text, re.IGNORECASE)]
    assert len(expected) > 100
    assert [(s.start, s.end) for s in ex.spans] == expected and all(s.label == "CLASH" for s in ex.spans)
    n_tokens = len(tokenize_document(text, tokenizer))
    covered = set()
    for start, end in ranges:
        covered.update(range(start, end))
    assert covered == set(range(n_tokens)) and n_tokens > 30_000
    assert max(model.windows) <= 8 * 128  # bounded batches


def test_published_accepts_a_date_or_an_iso_string():
    from datetime import date, datetime

    from clashwatch.predict import as_date

    assert as_date("2022-09-17") == as_date(datetime(2022, 9, 17, 8)) == date(2022, 9, 17)
    assert as_date(None) is None
    with pytest.raises(ValueError, match="ISO date"):
        as_date("17/09/2022")
    with pytest.raises(TypeError):
        as_date(20220917)


class _SaysDifferent(torch.nn.Module):
    """An event head that scores every pair of mentions 'another event'."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # the extractor reads the head's device from it

    def forward(self, later, earlier, sentences, features):
        return torch.full((later.size(0),), -6.0)


def test_the_grouping_option_reaches_the_clusterer_and_consensus_needs_an_event_head(random_model):
    """With a head that calls every pair apart: `learned` makes one event per mention; `consensus` keeps
    the prior's events (only the 2021 episode, whose date conflicts, is parted); `prior` ignores the head."""
    from test_grouping import ROLES, _doc

    from clashwatch.schema import ConfigError, same_event_components

    counts = {}
    for grouping in ("learned", "consensus", "prior"):
        extractor = Extractor.load(random_model, grouping=grouping, quiet=True)
        extractor.model.event_head = _SaysDifferent()
        grouped = extractor.group(_doc(ROLES), {}, hidden_size=extractor.model.tagger.config.hidden_size)
        counts[grouping] = len(same_event_components(grouped))
    assert counts == {"learned": 4, "consensus": 2, "prior": 2}
    with pytest.raises(ConfigError, match="consensus"):
        Extractor(extractor.model.tagger, extractor.tokenizer)


def test_the_publication_date_reaches_the_consensus_grouping(random_model, monkeypatch):
    """extract, extract_batch and no date at all: the year the consensus reads is the one given."""
    import clashwatch.predict as predict

    seen = []
    real = predict.cluster_consensus

    def spy(contexts, prob, threshold=0.5, current_year=None):
        seen.append(current_year)
        return real(contexts, prob, threshold, current_year)

    monkeypatch.setattr(predict, "cluster_consensus", spy)
    extractor = Extractor.load(random_model, grouping="consensus", quiet=True)
    extractor.model.event_head = _SaysDifferent()
    # a random tagger finds no trigger in some texts: force two clash mentions into every document
    monkeypatch.setattr(predict.Extractor, "_spans", lambda self, tdoc, encoded, d, gold: [
        Span("T1", 7, 14, "CLASH", tdoc.text[7:14], 0.9), Span("T2", 19, 27, "CLASH", tdoc.text[19:27], 0.9)])
    text = "Troops clashed and fighting went on."
    extractor.extract(text, published="2022-09-17")
    list(extractor.extract_batch([text, text], published="2021-01-05"))
    extractor.extract(text)
    assert seen == [2022, 2021, 2021, None]
