"""The decoder's lexicon: demonyms learned from the training documents alone, stored with the model."""

from __future__ import annotations

import json

import pytest

from clashwatch.lexicon import FILE, Lexicon
from clashwatch.schema import Document, ModelNotFoundError, Span


def _doc(doc_id: str, text: str, labelled: list[tuple[str, str]]) -> Document:
    spans, cursor = [], 0
    for n, (words, label) in enumerate(labelled, 1):
        start = text.index(words, cursor)
        cursor = start + len(words)
        spans.append(Span(f"T{n}", start, cursor, label, words))
    return Document(doc_id, text, spans)


DOCS = [
    _doc("a", "Tajik troops shelled Vorukh in Tajikistan.", [("Tajik troops", "ACTOR"), ("Tajikistan", "LOCATION")]),
    _doc("b", "Kandahar police fought in Kandahar province near Kandy.",
         [("Kandahar police", "ACTOR"), ("Kandahar province", "LOCATION"), ("Kandy", "LOCATION")]),
    _doc("c", "Border guards fired at Bordovia; the border guards said so.",
         [("Border guards", "ACTOR"), ("Bordovia", "LOCATION")]),
    _doc("d", "Rwandan army units crossed near Goma.", [("Rwandan army units", "ACTOR"), ("Goma", "LOCATION")]),
    _doc("e", "Shelling hit Jammu and Kashmir; Trinidad and Tobago Coast Guard said.",
         [("Jammu and Kashmir", "LOCATION"), ("Trinidad and Tobago Coast Guard", "ACTOR")]),
]


def test_a_name_with_and_is_one_the_documents_annotate_whole():
    lexicon = Lexicon.from_documents(DOCS)
    assert lexicon.is_and_name("Jammu and Kashmir")
    assert not lexicon.is_and_name("Trinidad and Tobago")  # only inside a longer name


def test_a_demonym_is_a_modifier_that_shares_its_stem_with_a_place():
    lexicon = Lexicon.from_documents(DOCS)
    assert lexicon.is_demonym("Tajik")  # "Tajik troops", and the place "Tajikistan"
    assert not lexicon.is_demonym("Kandahar")  # a modifier too, but the name of "Kandahar province"
    assert not lexicon.is_demonym("Border")  # capitalised at a sentence start: "the border guards"
    assert not lexicon.is_demonym("Rwandan")  # no place begins "Rwan" in these documents
    assert Lexicon.from_documents(DOCS + [_doc("f", "in Rwanda", [("Rwanda", "LOCATION")])]).is_demonym("Rwandan")


def test_the_lexicon_round_trips_and_a_missing_or_corrupt_file_is_named(tmp_path):
    lexicon = Lexicon.from_documents(DOCS)
    lexicon.save(tmp_path)
    assert Lexicon.load(tmp_path) == lexicon
    (tmp_path / FILE).write_text(json.dumps({"demonyms": []}))
    with pytest.raises(ModelNotFoundError, match=FILE):
        Lexicon.load(tmp_path)
    (tmp_path / FILE).write_text(json.dumps({"demonyms": "Tajik", "and_names": []}))  # a string, not a list
    with pytest.raises(ModelNotFoundError, match=FILE):
        Lexicon.load(tmp_path)
    (tmp_path / FILE).unlink()
    with pytest.raises(ModelNotFoundError, match=FILE):
        Lexicon.load(tmp_path)
