"""`clashwatch extract --engine ray` (clashwatch.scale) on a local two-node Ray cluster with the small
random model: the same records as the local engine on 30-odd documents (.txt folder, JSONL, Parquet; a
non-UTF-8 file, an empty one, a broken JSONL line), shards and error rows, the ACLED CSV, resume after a
killed job, and the refusals that come before any work (another model's folder, Parquet without `text`,
an address that does not answer, Ray missing)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray
from ray.cluster_utils import Cluster

from clashwatch.cli import main
from clashwatch.cli.extract import iter_documents
from clashwatch.scale import ClusterUnreachableError, check_address, read_records, shard_paths

from conftest import save_random_model


def sentences(doc) -> list[str]:
    from clashwatch.validate import sentence_bounds

    return [" ".join(doc.text[a:b].split()) for a, b in sentence_bounds(doc.text)]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, fixture_doc) -> list[str]:
    """33 documents cut from the fixture article: 22 .txt in a folder tree (one not UTF-8, one empty),
    6 JSONL lines (one broken, two with their own date), 5 Parquet rows (no doc_id: hash ids)."""
    root, parts = tmp_path_factory.mktemp("inputs"), sentences(fixture_doc)
    texts = [" ".join(parts[i : i + 1 + i % 4]) for i in range(len(parts))] + [fixture_doc.text,
                                                                               fixture_doc.text + " (Updated.)"]
    folder = root / "news"
    for i, text in enumerate(texts[:20]):
        path = folder / ("2022" if i % 3 else "2023") / f"article{i:02}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (folder / "latin1.txt").write_bytes(b"Clashes in Batken, caf\xe9 closed.")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "notes.md").write_text("not an input", encoding="utf-8")
    lines = [json.dumps({"doc_id": f"wire{i}", "text": t, **({"published": "2022-09-16"} if i < 2 else {})})
             for i, t in enumerate(texts[20:25])]
    lines.insert(3, '{"doc_id": "wire-broken", "text": ')
    (root / "wire.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pq.write_table(pa.table({"text": texts[22:27],  # 22-24 are in the JSONL too: another doc_id, another document
 "published": ["2021-05-01", None, "2022-01-02", None, None]}),
                   root / "archive.parquet")
    return [str(folder), str(root / "wire.jsonl"), str(root / "archive.parquet")]


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second node: the two actors may land on either, as on a real cluster."""
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "object_store_memory": 80 * 2**20,
                                                           "include_dashboard": False})
    nodes.add_node(num_cpus=1, object_store_memory=80 * 2**20)
    yield nodes
    if ray.is_initialized():
        ray.shutdown()
    nodes.shutdown()


def ray_extract(paths, out, model, cluster, *extra) -> int:
    return main(["extract", *paths, "--model", str(model), "--engine", "ray", "--address", cluster.address,
                 "--workers", "2", "--out", str(out), "--shard-size", "5", "--quiet", *extra])


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory, inputs, random_model, cluster):
    out = tmp_path_factory.mktemp("ray") / "out"
    started = time.perf_counter()
    code = ray_extract(inputs, out, random_model, cluster, "--acled")
    return out, code, time.perf_counter() - started


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, inputs, random_model):
    out = tmp_path_factory.mktemp("local")
    codes = [main(["extract", *inputs, "--model", str(random_model), "--format", fmt, "--out", str(out / f"out.{fmt}"),
                   "--quiet"]) for fmt in ("jsonl", "acled")]
    records = [json.loads(line) for line in (out / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    return {r["doc_id"]: r for r in records}, out / "out.acled", codes


def test_ray_gives_the_records_of_the_local_engine(ray_run, local_run):
    out, code, _ = ray_run
    local, _, local_codes = local_run
    records = {r["doc_id"]: r for r in read_records(out)}
    errors = {k: r["error"] for k, r in records.items() if "error" in r}
    # the broken documents: error rows with their reason (the local engine reports and skips them)
    assert set(errors) == {"latin1", "empty", "wire:4"}  # doc_ids below the folder, as the local engine names them
    assert errors["latin1"] == "not UTF-8 text (invalid continuation byte at byte 22)"
    assert errors["empty"] == "empty document" and errors["wire:4"] == "Expecting value: line 2 column 1 (char 35)"
    assert code == 1 and local_codes == [1, 1]  # problems make both exit 1
    # the local engine extracts the empty text as a record with nothing in it; every other one is equal
    assert local.pop("empty")["spans"] == []
    ok = {k: r for k, r in records.items() if k not in errors}
    assert len(ok) == len(local) == 30 and ok == local
    assert sum(len(r["events"]) for r in ok.values()) > 10  # the comparison is not of empty records
    assert {"wire0", "wire1", "2022/article01", "2023/article00"} <= set(ok)
    assert sum(k.startswith("archive:") for k in ok) == 5


def test_ray_output_folder_shards_manifest_and_acled(ray_run, local_run, random_model):
    import hashlib

    out, _, seconds = ray_run
    shards = shard_paths(out)
    assert len(shards) >= 7 and all(p.suffix == ".jsonl" for p in shards)  # 33 documents, 5 per shard
    assert not list(out.glob(".*.tmp"))
    lines = [json.loads(line) for p in shards for line in p.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len({r["doc_id"] for r in lines}) == 33  # every document once
    manifest = json.loads((out / "_clashwatch.json").read_text(encoding="utf-8"))
    model_manifest = (random_model / "manifest.json").read_bytes()
    assert manifest["model_manifest_sha256"] == hashlib.sha256(model_manifest).hexdigest()
    _, local_acled, _ = local_run

    def rows(path):
        with open(path, encoding="utf-8", newline="") as f:
            return sorted(tuple(row.items()) for row in csv.DictReader(f))

    assert rows(out / "events.csv") == rows(local_acled) and len(rows(local_acled)) > 10
    print(f"ray run on the two-node cluster: {seconds:.1f} s")


def test_resume_after_a_killed_job(ray_run, random_model, cluster, inputs, tmp_path, capsys):
    """A job killed with two shards in flight: one never written, one half-written under its temp name.
    The rerun keeps every finished shard as it is, redoes exactly the missing documents, and a third run
    has nothing left to do."""
    out = shutil.copytree(ray_run[0], tmp_path / "out")
    shards = shard_paths(out)
    lost, half = shards[0], shards[1]
    lost_ids = {json.loads(line)["doc_id"] for p in (lost, half) for line in p.read_text(encoding="utf-8").splitlines()}
    (out / f".{half.name}.tmp").write_bytes(half.read_bytes()[: half.stat().st_size // 2])
    lost.unlink()
    half.unlink()
    kept = {p.name: p.read_bytes() for p in shard_paths(out)}
    capsys.readouterr()
    ray_extract(inputs, out, random_model, cluster)
    written, errors, skipped = map(int, re.search(r"(\d+) written, (\d+) error row\(s\), (\d+) already done",
                                                  capsys.readouterr().err).groups())
    assert (written + errors, skipped) == (len(lost_ids), 33 - len(lost_ids))
    assert {p.name: p.read_bytes() for p in shard_paths(out) if p.name in kept} == kept  # finished shards untouched
    assert not list(out.glob(".*.tmp"))
    new = [p for p in shard_paths(out) if p.name not in kept]
    assert {json.loads(line)["doc_id"] for p in new for line in p.read_text(encoding="utf-8").splitlines()} == lost_ids
    assert {r["doc_id"]: r for r in read_records(out)} == {r["doc_id"]: r for r in read_records(ray_run[0])}
    assert ray_extract(inputs, out, random_model, cluster) == 0  # nothing left: no error row written this time
    assert "0 written, 0 error row(s), 33 already done, 0 new shard(s)" in capsys.readouterr().err


def test_another_models_folder_is_refused_unless_overwrite(ray_run, cluster, tmp_path, capsys, inputs):
    out = shutil.copytree(ray_run[0], tmp_path / "out")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    other = save_random_model(tmp_path / "other", hidden=32)
    one = Path(inputs[0]) / "2023" / "article00.txt"
    assert ray_extract([str(one)], out, other, cluster) == 2
    assert "another model" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # refused before anything was written
    assert ray_extract([str(one)], out, other, cluster, "--overwrite", "--output-format", "parquet") == 0
    [shard] = shard_paths(out)
    assert shard.suffix == ".parquet" and pq.read_table(shard).column_names == ["doc_id", "error", "events", "record"]
    [record] = read_records(out)
    assert record["doc_id"] == "article00" and record["text"] == one.read_text(encoding="utf-8")
    assert not (out / "events.csv").exists()  # the old model's CSV went with its shards


def test_parquet_without_text_fails_before_any_work(tmp_path, random_model, capsys):
    pq.write_table(pa.table({"body": ["Clashes."], "doc_id": ["x"]}), tmp_path / "bad.parquet")
    code = main(["extract", str(tmp_path / "bad.parquet"), "--model", str(random_model), "--engine", "ray",
                 "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2 and "no `text` column (it has body, doc_id)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not ray.is_initialized()


def test_an_address_that_does_not_answer_fails_fast(tmp_path, random_model, capsys, inputs):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    code = main(["extract", inputs[1], "--model", str(random_model), "--engine", "ray", "--address",
                 f"127.0.0.1:{port}", "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2 and f"no Ray cluster answers at 127.0.0.1:{port}" in capsys.readouterr().err
    assert time.perf_counter() - started < 10 and not (tmp_path / "out").exists() and not ray.is_initialized()
    with pytest.raises(ClusterUnreachableError, match="HOST:PORT"):
        check_address("nonsense")


def test_an_address_that_accepts_but_is_no_cluster_fails_fast(cluster):
    """A server that accepts and stays silent (as a dropped route or a hung host looks), and one that
    speaks HTTP/1 (the dashboard's port): refused within the timeout; the real cluster passes."""
    import threading

    with socket.socket() as silent, socket.socket() as http:
        for server in (silent, http):
            server.bind(("127.0.0.1", 0))
            server.listen()

        def answer_http():
            conn, _ = http.accept()
            with conn:
                conn.recv(64)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        threading.Thread(target=answer_http, daemon=True).start()
        started = time.perf_counter()
        with pytest.raises(ClusterUnreachableError, match="no Ray cluster answers"):
            check_address("127.0.0.1:%d" % silent.getsockname()[1], timeout=0.5)
        assert time.perf_counter() - started < 3
        with pytest.raises(ClusterUnreachableError, match="not as a Ray cluster"):
            check_address("127.0.0.1:%d" % http.getsockname()[1], timeout=2)
    check_address(cluster.address)


def test_ray_missing_says_how_to_install_it(monkeypatch, tmp_path, random_model, capsys, inputs):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code = main(["extract", inputs[1], "--model", str(random_model), "--engine", "ray", "--out", str(tmp_path / "o")])
    assert code == 2 and "pip install 'clashwatch[ray]'" in capsys.readouterr().err


def test_ray_flags_need_the_ray_engine_and_a_folder(capsys, inputs, random_model):
    assert main(["extract", inputs[1], "--model", str(random_model), "--acled", "--workers", "2"]) == 2
    assert "--workers, --acled: only with --engine ray" in capsys.readouterr().err
    assert main(["extract", inputs[1], "--model", str(random_model), "--engine", "ray"]) == 2
    assert "--out DIR" in capsys.readouterr().err


def test_local_engine_reads_parquet_files_and_dataset_folders(tmp_path):
    from datetime import date, datetime

    dataset = tmp_path / "feed.parquet"
    dataset.mkdir()
    pq.write_table(pa.table({"text": ["A clash.", None], "doc_id": ["a", "b"],
                             "published": [date(2022, 9, 16), date(2022, 9, 17)]}), dataset / "part-0.parquet")
    pq.write_table(pa.table({"text": ["Truce."], "doc_id": ["c"], "published": [datetime(2021, 5, 1, 8)]}),
                   dataset / "part-1.parquet")
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "notext.parquet")
    problems = []
    docs = list(iter_documents([str(dataset), str(tmp_path / "notext.parquet")], published=date(2020, 1, 1),
                               report=problems.append))
    assert [(d.doc_id, d.text, d.published) for d in docs] == [("a", "A clash.", date(2022, 9, 16)),
                                                               ("c", "Truce.", date(2021, 5, 1))]
    assert "part-0.parquet:row 2: skipped" in problems[0] and "no `text` column" in problems[1]
