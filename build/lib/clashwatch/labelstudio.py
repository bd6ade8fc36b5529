"""Label Studio: a local offline server (serve) and the SDK calls that move articles, gold and
model predictions in and out of a project (push, pull, push_predictions)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import document_from_result, load_export_json, pick_annotation, result_from_document
from .corpus import task_errors, task_from_document, write_json_atomic, write_text_atomic
from .validate import check_document
from .schema import AnnotationError, ClashwatchError, Document

REPO_ROOT = Path(__file__).resolve().parents[2]
def label_config_path() -> Path:
    """annotations/labeling_config.xml: in a checkout, or where an installed wheel put it."""
    from .config import installed_file

    return installed_file(Path("annotations") / "labeling_config.xml")
DEFAULT_DATA_DIR = Path(".ls-data")
DEFAULT_USERNAME = "admin@example.com"
# stops every outbound call of the server (version check, telemetry, error reporting)
OFFLINE_ENV = {"COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": ""}
# the server also reads these unprefixed names; never let a stray shell variable reach it
_UNPREFIXED = ("PORT", "HOST", "DEBUG", "USERNAME", "PASSWORD", "USER_TOKEN")
_LOGIN_FILE = "clashwatch-login.json"


class LabelStudioError(ClashwatchError):
    """The Label Studio server could not be started or reached, or a project is missing or ambiguous."""


# ---------------------------------------------------------------- the server


def find_label_studio() -> Path:
    """The server executable: $CLASHWATCH_LS_BIN, else .venv-ls/bin/label-studio (scripts/setup-venv.sh)."""
    candidates = [os.environ.get("CLASHWATCH_LS_BIN"), REPO_ROOT / ".venv-ls" / "bin" / "label-studio"]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c)
    raise LabelStudioError("no Label Studio server: run scripts/setup-venv.sh (it makes .venv-ls/) or set CLASHWATCH_LS_BIN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in _UNPREFIXED and k.removeprefix("LABEL_STUDIO_").removeprefix("HEARTEX_") not in _UNPREFIXED}
    env.update(OFFLINE_ENV, PYTHONUNBUFFERED="1")  # unbuffered: the "Starting development server" line is checked
    return env


def template_dir(ls_bin: Path) -> Path:
    """Where the migrated empty data dir for this server install is cached."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha1(str(ls_bin.resolve()).encode()).hexdigest()[:10]
    versions = sorted(p.name for p in ls_bin.parent.parent.glob("lib/python*/site-packages/label_studio-*.dist-info"))
    version = versions[0].removesuffix(".dist-info").split("-")[1] if versions else "unknown"
    return cache / "clashwatch" / f"labelstudio-{version}-{key}"


def prepare_template(ls_bin: Path, template: Path | None = None, timeout: float = 600) -> Path:
    """Migrate an empty data dir once (`label-studio version --data-dir`, about a minute on 2 cores);
    copies of it start in seconds instead of a minute."""
    template = template or template_dir(ls_bin)
    if (template / "label_studio.sqlite3").exists():
        return template
    template.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=template.parent, prefix=".tmp-template-"))
    try:
        subprocess.run([str(ls_bin), "version", "--data-dir", str(work)], env=server_env(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout, text=True)
        try:
            work.rename(template)  # atomic; a concurrent preparer may have won the race
        except OSError:
            pass
    except subprocess.CalledProcessError as e:
        raise LabelStudioError(f"preparing {template} failed: {e.stderr[-2000:]}") from None
    except subprocess.TimeoutExpired:
        raise LabelStudioError(f"preparing {template} took more than {timeout:.0f} s") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return template


def _login(data_dir: Path, username: str, password: str | None, token: str | None) -> dict:
    """The admin login of a data dir: kept in the data dir because a restarted server keeps the
    user made on its first start and ignores new --password/--user-token values."""
    path = data_dir / _LOGIN_FILE
    if path.exists():
        path.chmod(0o600)  # a login file copied or made by an older version: owner only
        return json.loads(path.read_text(encoding="utf-8"))
    login = {"username": username, "password": password or secrets.token_urlsafe(12) + "A1!",
             "token": token or secrets.token_hex(20)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(login, f)
    return login


@dataclass
class Server:
    """A running local server; stop() (or leaving a `with` block) ends it."""

    url: str
    token: str = field(repr=False)
    username: str
    password: str = field(repr=False)
    pid: int
    port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)
    log_offset: int = field(default=0, repr=False)  # where this run's lines start in the appended log

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # SIGINT is ignored by a background server
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _log_tail(server: Server, n: int = 3000) -> str:
    try:
        with open(server.log_path, "rb") as f:
            f.seek(server.log_offset)
            return f.read().decode("utf-8", errors="replace")[-n:]
    except OSError:
        return ""


def serve(port: int | None = None, data_dir: str | Path | None = None, *, username: str = DEFAULT_USERNAME,
          password: str | None = None, token: str | None = None, timeout: float = 240,
          use_template: bool = True) -> Server:
    """Start `label-studio` offline on 127.0.0.1 (a free port unless one is given), wait for /health/.

    A new data dir starts from a cached migrated template (seconds instead of a minute); the admin
    login (generated unless given) is kept in DATA_DIR/clashwatch-login.json."""
    ls_bin = find_label_studio()
    data_dir = Path(data_dir or DEFAULT_DATA_DIR).resolve()
    if port is None:
        port = free_port()
    elif _port_busy(port):
        raise LabelStudioError(f"port {port} is in use (the server would silently move to another one)")
    if not (data_dir / "label_studio.sqlite3").exists():
        if use_template:
            shutil.copytree(prepare_template(ls_bin), data_dir, dirs_exist_ok=True)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
    login = _login(data_dir, username, password, token)
    log_path = data_dir / "server.log"
    offset = log_path.stat().st_size if log_path.exists() else 0
    # the password and the token go through the environment: a command line is readable by every local
    # user (`ps`), a process's environment only by its owner
    cmd = [str(ls_bin), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data_dir), "--username", login["username"], "--enable-legacy-api-token"]
    env = {**server_env(), "LABEL_STUDIO_PASSWORD": login["password"], "LABEL_STUDIO_USER_TOKEN": login["token"]}
    with open(log_path, "ab") as log:
        # own session: a terminal's Ctrl-C reaches the CLI, which then stops the server itself
        process = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    server = Server(url, login["token"], login["username"], login["password"], process.pid, port, data_dir,
                    log_path, process, offset)
    try:
        _wait_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise LabelStudioError(f"server exited with {server.process.returncode}:\n{_log_tail(server)}")
        try:
            with urllib.request.urlopen(f"{server.url}/health/", timeout=5) as r:
                up = json.loads(r.read()).get("status") == "UP"
        except (OSError, ValueError):
            up = False
        if up:
            if f"Starting development server at {server.url}" not in _log_tail(server, 10**7):
                raise LabelStudioError(f"something else answers on port {server.port}")
            return
        time.sleep(0.5)
    raise LabelStudioError(f"server not healthy after {timeout:.0f} s:\n{_log_tail(server)}")


# ---------------------------------------------------------------- SDK calls


def connect(url: str, token: str):
    """An SDK client for a running server; fails early with a clear error when it cannot log in."""
    from label_studio_sdk import LabelStudio

    client = LabelStudio(base_url=url.rstrip("/"), api_key=token)
    try:
        client.users.whoami()
    except Exception as e:  # the SDK raises httpx and ApiError types alike
        raise LabelStudioError(f"cannot use Label Studio at {url}: {e}") from None
    return client


def find_project(client, title: str):
    """The project with exactly this title, or None; two projects of the same title are an error."""
    found = [p for p in client.projects.list(title=title) if p.title == title]
    if len(found) > 1:
        raise LabelStudioError(f"{len(found)} projects are titled {title!r} (ids {[p.id for p in found]})")
    return found[0] if found else None


def _project(client, title: str):
    project = find_project(client, title)
    if project is None:
        raise LabelStudioError(f"no project titled {title!r}")
    return project


def project_tasks(client, project_id: int) -> list[dict]:
    """Every task of a project as {"id", "doc_id", "data"}."""
    return [{"id": t.id, "doc_id": (t.data or {}).get("doc_id"), "data": t.data or {}}
            for t in client.tasks.list(project=project_id)]


def _as_document(item) -> Document:
    if isinstance(item, Document):
        return item
    if isinstance(item, tuple):
        doc_id, text = item
        return Document(doc_id=str(doc_id), text=text)
    if isinstance(item, str):
        return Document(doc_id="text-" + hashlib.sha1(item.encode()).hexdigest()[:12], text=item)
    raise TypeError(f"push takes Documents, (doc_id, text) pairs or texts, not {type(item).__name__}")


@dataclass
class PushResult:
    project_id: int
    created: list[str]
    skipped: list[str]  # doc_ids already in the project (or repeated in the input)


def push(client, title: str, docs_or_texts: Iterable, label_config: str | None = None, *,
         with_annotations: bool = False) -> PushResult:
    """Create (or reuse) the project titled `title` with the labeling config and import the articles
    as tasks keyed by data.doc_id; doc_ids already in the project are skipped, so pushing twice adds
    nothing. `with_annotations` also imports each Document's spans and relations as an annotation."""
    docs = [_as_document(d) for d in docs_or_texts]
    for doc in docs:
        if not doc.text.strip():
            raise AnnotationError("empty text", task=doc.doc_id, rule="empty_text")
        if with_annotations and (errors := check_document(doc)):
            raise errors[0]  # nothing is imported when one gold document breaks the spec
    label_config = label_config or label_config_path().read_text(encoding="utf-8")
    project = find_project(client, title)
    if project is None:
        project = client.projects.create(title=title, label_config=label_config)
    elif (project.label_config or "").strip() != label_config.strip():
        client.projects.update(id=project.id, label_config=label_config)
    seen = {t["doc_id"] for t in project_tasks(client, project.id)}
    tasks, created, skipped = [], [], []
    for doc in docs:
        if doc.doc_id in seen:
            skipped.append(doc.doc_id)
            continue
        seen.add(doc.doc_id)
        task = {"data": {"text": doc.text, "doc_id": doc.doc_id, **(doc.meta.get("data") or {})}}
        if with_annotations:
            task["annotations"] = [{"result": result_from_document(doc)}]
        tasks.append(task)
        created.append(doc.doc_id)
    if tasks:
        client.projects.import_tasks(id=project.id, request=tasks, return_task_ids=True)
    return PushResult(project.id, created, skipped)


@dataclass
class PullResult:
    documents: list[Document]
    unannotated: list[str]  # doc_ids of tasks nobody has annotated yet (left out of the file)
    invalid: list[AnnotationError] = field(default_factory=list)  # every error of the tasks left out
    report: Path | None = None  # where the invalid tasks are listed


def invalid_report_path(out_path: str | Path) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".invalid.txt")


def pull(client, title: str, out_path: str | Path, *, require_all: bool = False) -> PullResult:
    """Export the project, validate every annotated task with the spec's rules, and write the valid tasks
    to the gold file atomically (one task per document, its latest non-cancelled annotation). Tasks that
    break a rule are left out and listed, each error with its task, item and rule, in OUT.invalid.txt
    (written atomically too): one annotator's mistake never blocks the team's pull."""
    project = _project(client, title)
    export = client.projects.exports.as_json(project.id)
    if not isinstance(export, list):
        raise AnnotationError("the export is not a list of tasks", task=title, rule="shape")
    source = f"project {title!r}"
    annotated, unannotated, invalid = [], [], []
    for position, task in enumerate(export):
        errors = task_errors(task, position, source)
        if errors and errors[0].rule == "no_annotation":
            unannotated.append(str(((task.get("data") if isinstance(task, dict) else None) or {}).get("doc_id")
                                   or f"#{position}"))
        elif errors:
            invalid += errors
        else:
            annotated.append(task)
    if require_all and unannotated:
        raise AnnotationError("task has no annotation", task=unannotated[0], rule="no_annotation")
    docs = load_export_json(annotated, source)
    write_json_atomic(out_path, [task_from_document(d) for d in docs])
    report = invalid_report_path(out_path)
    if invalid:
        lines = [f"{len({e.task for e in invalid})} task(s) of {source} left out of {out_path}; fix them in Label "
                 "Studio and pull again:"] + [str(e) for e in invalid]
        write_text_atomic(report, "\n".join(lines) + "\n")
    else:
        report.unlink(missing_ok=True)
    return PullResult(docs, unannotated, invalid, report if invalid else None)


@dataclass
class PredictionResult:
    created: int
    replaced: int  # older predictions of the same model_version that were deleted


def _mean_score(result: list[dict]) -> float | None:
    scores = [float(i["score"]) for i in result if isinstance(i, dict) and i.get("score") is not None]
    return round(sum(scores) / len(scores), 4) if scores else None


_HARD_RULES = ("offsets", "label", "dangling", "duplicate_id", "relation_type")


def push_predictions(client, title: str, predictions: dict[str, list[dict]], model_version: str,
                     scores: dict[str, float] | None = None) -> PredictionResult:
    """Add pre-annotations for the project's tasks (doc_id -> result list). Only the predictions API
    is used: human annotations are never touched; older predictions of this model_version are
    replaced, other versions are kept. The score of a task defaults to the mean of its item scores."""
    project = _project(client, title)
    by_doc = {t["doc_id"]: t for t in project_tasks(client, project.id)}
    missing = sorted(set(predictions) - set(by_doc))
    if missing:
        raise LabelStudioError(f"{len(missing)} doc_id(s) are not tasks of {title!r}: {missing[:5]}")
    for doc_id, result in predictions.items():  # check all before changing anything
        task = by_doc[doc_id]
        doc = document_from_result({"id": task["id"], "data": task["data"]}, result, doc_id)
        # a pre-annotation may break a style rule (overlap, trim, sentence): the annotator fixes it and
        # pull checks it; one that Label Studio cannot display (bad offsets, labels, ids) is refused
        errors = [e for e in check_document(doc, doc_id) if e.rule in _HARD_RULES]
        if errors:
            raise errors[0]
    task_ids = {by_doc[d]["id"] for d in predictions}
    old = [p for p in client.predictions.list(project=project.id)
           if p.task in task_ids and p.model_version == model_version]
    requests = []
    for doc_id, result in predictions.items():
        score = (scores or {}).get(doc_id)
        request = {"task": by_doc[doc_id]["id"], "result": result, "model_version": model_version}
        if score is not None or (score := _mean_score(result)) is not None:
            request["score"] = float(score)
        requests.append(request)
    if requests:
        client.projects.import_predictions(id=project.id, request=requests)
    for p in old:
        client.predictions.delete(id=p.id)
    return PredictionResult(len(requests), len(old))
