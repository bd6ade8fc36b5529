"""The ONNX runtime against the torch path, on a small random model (no training: its tags are
arbitrary but plentiful, which is what an equality check wants)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from clashwatch.schema import ConfigError

REPO = Path(__file__).resolve().parents[1]
TEXTS = [
    "Pakistani and Afghan forces exchanged fire at the Torkham crossing on Tuesday, killing three soldiers.",
    "",
    " ".join(["Border guards of Tajikistan and Kyrgyzstan clashed near Vorukh, officials said."] * 12),  # windows
    "A ceasefire brokered by Qatar held overnight.",
]


@pytest.fixture(scope="module")
def extractors(random_model):
    from clashwatch.predict import Extractor

    return (Extractor.load(random_model, device="cpu", quiet=True),
            Extractor.load(random_model, runtime="onnx", threads=1, quiet=True))


def _keys(ex):
    return ([(s.start, s.end, s.label) for s in ex.spans],
            [(r.head, r.tail, r.label) for r in ex.relations])


def test_onnx_matches_torch_spans_and_relations(extractors):
    torch_ex, onnx_ex = extractors
    ref = list(torch_ex.extract_batch(TEXTS, batch_size=4))
    fast = list(onnx_ex.extract_batch(TEXTS, batch_size=4))
    assert sum(len(e.spans) for e in ref) > 10 and any(e.relations for e in ref)  # the check has teeth
    assert [_keys(e) for e in fast] == [_keys(e) for e in ref]
    for a, b in zip(fast, ref):
        assert [s.score for s in a.spans] == pytest.approx([s.score for s in b.spans], abs=1e-3)


def test_tagger_alone_matches_extractor_spans(extractors):
    from clashwatch.data import tokenize_documents

    torch_ex, onnx_ex = extractors
    ref = [[(s.start, s.end, s.label) for s in e.spans] for e in torch_ex.extract_batch(TEXTS)]
    for ex in extractors:
        results = ex.run(tokenize_documents(TEXTS, ex.tokenizer), batch_size=3, relations=False)
        assert [[(s.start, s.end, s.label) for s in r[0]] if r else [] for r in results] == ref
        assert not any(r[1] for r in results if r)


def test_batched_tokenisation_equals_per_document(extractors):
    from clashwatch.data import tokenize_document, tokenize_documents

    tok = extractors[0].tokenizer
    batched = tokenize_documents(TEXTS, tok)
    assert batched[1] is None
    for text, tdoc in zip(TEXTS, batched):
        if tdoc is not None:
            assert vars(tdoc) == vars(tokenize_document(text, tok))


def test_onnx_path_gives_torch_one_thread_and_restores_it(extractors, monkeypatch):
    import torch

    torch_ex, onnx_ex = extractors
    seen = []
    head = onnx_ex.model.relation_head
    monkeypatch.setattr(onnx_ex.model, "relation_head", lambda *a: seen.append(torch.get_num_threads()) or head(*a))
    before = torch.get_num_threads()
    list(onnx_ex.extract_batch(TEXTS))
    assert seen and set(seen) == {1}  # torch's spinning pool would take cores from ONNX Runtime
    assert torch.get_num_threads() == before


def test_export_is_cached_in_the_model_folder(random_model, extractors):
    from clashwatch.runtime import onnx_path

    cached = sorted((random_model / "onnx").glob("encoder-fp32-*.onnx"))
    assert len(cached) == 1
    before = cached[0].stat().st_mtime_ns
    assert onnx_path(random_model, extractors[0].model.tagger) == cached[0]
    assert cached[0].stat().st_mtime_ns == before
    assert not [p for p in (random_model / "onnx").iterdir() if p.is_dir()]  # no temporary left behind


def test_int8_runs_and_mostly_agrees(random_model, extractors):
    from clashwatch.predict import Extractor

    int8 = Extractor.load(random_model, runtime="onnx", quantize=True, threads=1)
    assert int8.model.quantized and list((random_model / "onnx").glob("encoder-int8-*.onnx"))
    ref = [set(_keys(e)[0]) for e in extractors[0].extract_batch(TEXTS)]
    got = [set(_keys(e)[0]) for e in int8.extract_batch(TEXTS)]
    inter, union = sum(len(a & b) for a, b in zip(ref, got)), sum(len(a | b) for a, b in zip(ref, got))
    assert inter / union > 0.5


def test_bad_runtime_options_are_config_errors(random_model):
    from clashwatch.predict import Extractor

    with pytest.raises(ConfigError):
        Extractor.load(random_model, runtime="tensorrt")
    with pytest.raises(ConfigError):
        Extractor.load(random_model, quantize=True)  # int8 is an ONNX Runtime option


def test_benchmark_runs_and_prints_the_ratio(random_model, capsys):
    spec = importlib.util.spec_from_file_location("bench_inference", REPO / "eval" / "bench_inference.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_inference"] = bench
    spec.loader.exec_module(bench)
    assert bench.main(["--model", str(random_model), "--docs", "6", "--rounds", "1", "--memory-docs", "0",
                       "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("ratio (b)/(a)") for line in out.splitlines())
    assert "spans (b) vs torch fp32 tagger" in out and "agreement 1.0000" in out
