"""Property-based fuzzing (hypothesis): whatever an export or an input holds, the loader and `extract`
end in a result or a typed error, never in an AttributeError, KeyError or TypeError from deep inside."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clashwatch.corpus import load_export_json, validate_export
from clashwatch.schema import AnnotationError, ClashwatchError

GOLD = Path(__file__).resolve().parents[1] / "annotations" / "gold.json"
TASK = json.loads(GOLD.read_text(encoding="utf-8"))[3]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10_000) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(TASK) if p and p[:2] != ("data", "text")]


@st.composite
def mutated_tasks(draw):
    """The gold task with a few of its parts replaced by arbitrary JSON (an annotations dict, a value
    list, ids of mixed types, a missing key...)."""
    task = copy.deepcopy(TASK)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        node = task
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    return task


def _loads_or_names_the_problem(obj):
    try:
        docs = load_export_json(obj, "fuzz.json")
    except AnnotationError as e:
        assert e.rule and str(e)
        return
    assert all(d.text for d in docs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_tasks())
def test_a_mutated_export_loads_or_raises_an_annotation_error(task):
    _loads_or_names_the_problem([task])


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_loads_or_raises_an_annotation_error(obj):
    _loads_or_names_the_problem(obj)
    _loads_or_names_the_problem([obj])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(mutated_tasks())
def test_validate_export_lists_errors_instead_of_crashing(tmp_path, task):
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    assert all(isinstance(e, AnnotationError) for e in validate_export(path))


@pytest.mark.parametrize("broken, rule", [
    ({"annotations": {"result": []}}, "shape"),  # annotations given as a dict
    ({"annotations": [{"result": [{"type": "labels", "id": "a", "value": [0, 3]}]}]}, "shape"),  # value as a list
])
def test_known_malformations_name_task_and_rule(broken, rule):
    task = {"data": {"text": "Clashes.", "doc_id": "t1"}, **broken}
    with pytest.raises(AnnotationError) as caught:
        load_export_json([task])
    assert (caught.value.task, caught.value.rule) == ("t1", rule)


def test_mixed_int_and_str_ids_are_one_id_space():
    result = [{"type": "labels", "id": 1, "value": {"start": 0, "end": 7, "text": "Clashes", "labels": ["CLASH"]}},
              {"type": "labels", "id": "2", "value": {"start": 11, "end": 14, "text": "Osh", "labels": ["LOCATION"]}},
              {"type": "relation", "from_id": "1", "to_id": 2, "labels": ["place"]}]
    tasks = [{"data": {"text": "Clashes in Osh.", "doc_id": "t"},
              "annotations": [{"id": 1, "result": result}, {"id": "x", "was_cancelled": True}]}]
    [doc] = load_export_json(tasks)
    assert [(r.head, r.tail) for r in doc.relations] == [("1", "2")]


@pytest.fixture(scope="module")
def extractor(random_model):
    from clashwatch.predict import Extractor

    return Extractor.load(random_model, quiet=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=300), json_values),
       published=st.one_of(st.none(), st.dates().map(str), st.text(max_size=12), json_values))
def test_extract_returns_or_raises_a_typed_error(extractor, text, published):
    try:
        ex = extractor.extract(text, published=published)
    except (TypeError, ValueError, ClashwatchError):
        return
    assert isinstance(text, str) and ex.text == text
    assert all(text[s.start : s.end] == s.text for s in ex.spans)
