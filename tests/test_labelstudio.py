"""The labeling config against the schema, and a real offline Label Studio server: push (twice, no
duplicates), gold as annotations, predictions next to a human annotation, pull and its validation."""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from clashwatch import labelstudio as lsmod
from clashwatch.cli import main
from clashwatch.corpus import FROM_NAME, TO_NAME, load_export, result_from_document
from clashwatch.schema import RELATION_LABELS, SPAN_LABELS, SPEC_VERSION, AnnotationError

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "annotations" / "labeling_config.xml"
GOLD = REPO / "annotations" / "gold.json"
SEEDS = sorted((REPO / "annotations" / "seeds").glob("*.txt"))
LS_BIN = REPO / ".venv-ls" / "bin" / "label-studio"


def test_labeling_config_implements_the_spec():
    root = ET.parse(CONFIG).getroot()
    labels = root.find("Labels")
    assert (labels.get("name"), labels.get("toName")) == (FROM_NAME, TO_NAME)
    values = [x.get("value") for x in labels.findall("Label")]
    assert values == list(SPAN_LABELS)
    colours = [x.get("background") for x in labels.findall("Label")]
    assert None not in colours and len(set(colours)) == len(colours)
    assert [x.get("value") for x in root.find("Relations").findall("Relation")] == list(RELATION_LABELS)
    text = root.find("Text")
    assert (text.get("name"), text.get("value"), text.get("granularity")) == (TO_NAME, "$text", "symbol")
    assert f"spec v{SPEC_VERSION}" in root.find("Header").get("value")


def test_push_without_a_server_address_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.delenv("CLASHWATCH_LS_URL", raising=False)
    monkeypatch.delenv("CLASHWATCH_LS_TOKEN", raising=False)
    assert main(["annotate", "pull", "--project", "x", "--out", os.devnull]) == 2
    assert "CLASHWATCH_LS_URL" in capsys.readouterr().err


# ---------------------------------------------------------------- with a real server


def _gold_docs():
    return load_export(GOLD if GOLD.exists() else REPO / "tests" / "fixtures" / "seed000.json")


def _key(doc):
    """A Document without its Label Studio task id (which differs between servers)."""
    return (doc.doc_id, doc.text, sorted((s.id, s.start, s.end, s.label, s.text) for s in doc.spans),
            sorted((r.head, r.tail, r.label) for r in doc.relations), doc.meta.get("data") or {})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not LS_BIN.exists():
        pytest.skip(f"{LS_BIN} missing: scripts/setup-venv.sh installs the Label Studio server")
    srv = lsmod.serve(data_dir=tmp_path_factory.mktemp("ls-data"))
    try:
        yield srv
    finally:
        srv.stop()
        assert not srv.alive()


@pytest.fixture(scope="module")
def client(server):
    return lsmod.connect(server.url, server.token)


def _cli(server, *args) -> int:
    return main(["annotate", args[0], "--url", server.url, "--token", server.token, *args[1:]])


@pytest.mark.labelstudio
def test_push_twice_and_gold_round_trip(server, client, tmp_path, capsys):
    assert server.url.startswith("http://127.0.0.1:")
    # seed texts through the CLI, twice: the second push adds nothing
    assert _cli(server, "push", "--project", "seed texts", *map(str, SEEDS)) == 0
    assert _cli(server, "push", "--project", "seed texts", *map(str, SEEDS)) == 0
    assert f"0 task(s) created, {len(SEEDS)} already there" in capsys.readouterr().out
    project = lsmod.find_project(client, "seed texts")
    assert sorted(t["doc_id"] for t in lsmod.project_tasks(client, project.id)) == [p.name for p in SEEDS]
    changed = CONFIG.read_text(encoding="utf-8").replace("Clash-event annotation", "Clash events")
    lsmod.push(client, "seed texts", [], changed)  # a new config reaches the existing project
    assert "Clash events" in client.projects.get(id=project.id).label_config

    gold = _gold_docs()
    first = lsmod.push(client, "gold", gold, with_annotations=True)
    again = lsmod.push(client, "gold", gold, with_annotations=True)
    assert (len(first.created), again.created, len(again.skipped)) == (len(gold), [], len(gold))
    assert len(lsmod.project_tasks(client, first.project_id)) == len(gold)

    out = tmp_path / "pulled.json"
    assert _cli(server, "pull", "--project", "gold", "--out", str(out)) == 0
    assert [_key(d) for d in load_export(out)] == [_key(d) for d in gold]


@pytest.mark.labelstudio
def test_predictions_never_touch_human_annotations(server, client, tmp_path, tiny_model):
    gold = _gold_docs()[:2]
    pushed = lsmod.push(client, "predictions", gold)  # texts only
    tasks = {t["doc_id"]: t["id"] for t in lsmod.project_tasks(client, pushed.project_id)}
    human = result_from_document(gold[0])
    annotation = client.annotations.create(id=tasks[gold[0].doc_id], result=human)

    some = result_from_document(gold[0], with_scores=True)[:3]
    for item in some:
        item["score"] = 0.5
    assert lsmod.push_predictions(client, "predictions", {gold[0].doc_id: some}, "m1").created == 1
    again = lsmod.push_predictions(client, "predictions", {gold[0].doc_id: some}, "m1", {gold[0].doc_id: 0.9})
    assert (again.created, again.replaced) == (1, 1)

    # the CLI with the real extractor of the tiny model (trained on gold[0]'s article)
    assert _cli(server, "predict", "--project", "predictions", "--model", str(tiny_model)) == 0

    predictions = client.predictions.list(task=tasks[gold[0].doc_id])
    assert sorted(p.model_version for p in predictions) == ["m1", tiny_model.name]
    model_prediction = next(p for p in predictions if p.model_version == tiny_model.name)
    assert 0 < model_prediction.score <= 1
    assert any(i["type"] == "labels" for i in model_prediction.result)
    assert len(client.predictions.list(task=tasks[gold[1].doc_id])) == 1
    kept = client.annotations.list(id=tasks[gold[0].doc_id])
    assert [(a.id, a.result) for a in kept] == [(annotation.id, human)]

    with pytest.raises(lsmod.LabelStudioError, match="not tasks"):
        lsmod.push_predictions(client, "predictions", {"nope.txt": some}, "m1")

    out = tmp_path / "pulled.json"
    result = lsmod.pull(client, "predictions", out)
    assert [_key(d) for d in result.documents] == [_key(gold[0])]
    assert result.unannotated == [gold[1].doc_id]


@pytest.mark.labelstudio
@pytest.mark.parametrize("breakage, rule", [("label", "label"), ("overlap", "overlap")])
def test_an_invalid_task_is_reported_and_the_valid_ones_written(server, client, tmp_path, breakage, rule):
    broken, fine = _gold_docs()[:2]
    title = f"invalid {breakage}"
    pushed = lsmod.push(client, title, [broken, fine], with_annotations=True)
    result = result_from_document(broken)
    first = next(i for i in result if i["type"] == "labels")
    if breakage == "label":
        first["value"]["labels"] = ["BOGUS"]
    else:
        start, end = first["value"]["start"], first["value"]["end"]
        result.append({"id": "extra", "from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
                       "value": {"start": start, "end": end, "text": broken.text[start:end], "labels": ["ACTOR"]}})
    task_id = next(t["id"] for t in lsmod.project_tasks(client, pushed.project_id) if t["doc_id"] == broken.doc_id)
    client.annotations.create(id=task_id, result=result)  # the latest annotation is the one pulled

    out = tmp_path / "gold.json"
    pulled = lsmod.pull(client, title, out)
    assert [_key(d) for d in pulled.documents] == [_key(fine)]
    assert [_key(d) for d in load_export(out)] == [_key(fine)]
    assert {(e.task, e.rule) for e in pulled.invalid} == {(broken.doc_id, rule)}
    report = pulled.report.read_text(encoding="utf-8")
    assert broken.doc_id in report and f"[{rule}]" in report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold.json", "gold.json.invalid.txt"]


@pytest.mark.labelstudio
def test_serve_command_stops_its_server_on_ctrl_c(tmp_path):
    import signal
    import subprocess
    import time

    if not LS_BIN.exists():
        pytest.skip(f"{LS_BIN} missing: scripts/setup-venv.sh installs the Label Studio server")
    command = "import sys; from clashwatch.cli import main; sys.exit(main())"
    cli = subprocess.Popen([sys.executable, "-c", command, "annotate", "serve", "--data-dir", str(tmp_path)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = cli.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        env = dict(x.split("=", 1) for x in lines[-2].split()[1:])
        server_pid = int(lines[0].split("(pid ")[1].split(",")[0])
        assert lsmod.connect(env["CLASHWATCH_LS_URL"], env["CLASHWATCH_LS_TOKEN"]).users.whoami().email == lsmod.DEFAULT_USERNAME
    finally:
        if cli.poll() is None:
            cli.send_signal(signal.SIGINT)
        code = cli.wait(300)  # generous: on a loaded machine Label Studio takes long to stop; a hang still fails
    assert code == 0
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)


def test_serve_passes_no_secret_on_the_command_line(tmp_path, monkeypatch):
    """Any local user can read a command line (ps); the password and token go through the environment,
    and the login file is the owner's alone."""
    import stat

    seen = {}

    class FakePopen:
        pid = 4242

        def __init__(self, cmd, env=None, **kwargs):
            seen.update(cmd=cmd, env=env)

        def poll(self):
            return None

    ls_bin = tmp_path / "label-studio"
    ls_bin.write_text("#!/bin/sh\n")
    ls_bin.chmod(0o755)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "label_studio.sqlite3").write_text("")
    monkeypatch.setenv("CLASHWATCH_LS_BIN", str(ls_bin))
    monkeypatch.setattr(lsmod.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(lsmod, "_wait_healthy", lambda server, timeout: None)
    server = lsmod.serve(data_dir=tmp_path / "data")
    assert server.password not in " ".join(seen["cmd"]) and server.token not in " ".join(seen["cmd"])
    assert "--password" not in seen["cmd"] and "--user-token" not in seen["cmd"]
    assert seen["env"]["LABEL_STUDIO_PASSWORD"] == server.password
    assert seen["env"]["LABEL_STUDIO_USER_TOKEN"] == server.token
    login = tmp_path / "data" / "clashwatch-login.json"
    assert stat.S_IMODE(login.stat().st_mode) == 0o600
