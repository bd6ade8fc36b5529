"""`clashwatch annotate serve|push|pull|predict`: the annotators' Label Studio workflow."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def _client(args):
    from ..labelstudio import LabelStudioError, connect

    url = args.url or os.environ.get("CLASHWATCH_LS_URL")
    token = args.token or os.environ.get("CLASHWATCH_LS_TOKEN")
    if not url or not token:
        raise LabelStudioError("give --url and --token, or set CLASHWATCH_LS_URL and CLASHWATCH_LS_TOKEN "
                               "(`clashwatch annotate serve` prints both)")
    return connect(url, token)


def cmd_serve(args) -> int:
    from ..labelstudio import serve

    def terminate(signum, frame):
        raise KeyboardInterrupt

    server = serve(port=args.port, data_dir=args.data_dir)
    # SIGINT too: a process started in the background inherits SIGINT ignored, and Ctrl-C must still stop it
    previous = {sig: signal.signal(sig, terminate) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        print(f"Label Studio is up at {server.url} (pid {server.pid}, data {server.data_dir})")
        print(f"log in as {server.username} / {server.password}")
        print(f"export CLASHWATCH_LS_URL={server.url} CLASHWATCH_LS_TOKEN={server.token}")
        print("Ctrl-C stops it", flush=True)
        code = server.process.wait()
        print(f"the server exited with {code}; log: {server.log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping Label Studio", file=sys.stderr)
        return 0
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _read_inputs(paths: list[str], with_annotations: bool):
    from ..corpus import load_export_json, read_json
    from ..schema import AnnotationError, Document

    docs = []
    for name in paths:
        path = Path(name)
        if path.suffix == ".txt":
            if with_annotations:
                raise AnnotationError("a .txt file has no annotations to import", task=name, rule="file")
            try:
                docs.append(Document(doc_id=path.name, text=path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as e:
                raise AnnotationError(f"cannot read {path}: {e}", task=name, rule="file") from None
        elif path.suffix == ".json":
            docs.extend(load_export_json(read_json(path), name, require_annotation=with_annotations))
        else:
            raise AnnotationError("push takes .txt articles or Label Studio .json exports", task=name, rule="file")
    return docs


def cmd_push(args) -> int:
    from ..labelstudio import push

    docs = _read_inputs(args.files, args.with_annotations)
    config = Path(args.label_config).read_text(encoding="utf-8") if args.label_config else None
    result = push(_client(args), args.project, docs, config, with_annotations=args.with_annotations)
    print(f"project {args.project!r} (id {result.project_id}): {len(result.created)} task(s) created, "
          f"{len(result.skipped)} already there")
    return 0


def cmd_pull(args) -> int:
    from ..corpus import corpus_stats
    from ..labelstudio import pull

    result = pull(_client(args), args.project, args.out, require_all=args.require_all)
    stats = corpus_stats(result.documents)
    print(f"{args.out}: {stats['documents']} documents, {stats['span_total']} spans, "
          f"{stats['relation_total']} relations")
    if result.unannotated:
        print(f"{len(result.unannotated)} task(s) not annotated yet, left out: {', '.join(result.unannotated[:10])}",
              file=sys.stderr)
    if result.invalid:
        for e in result.invalid[:10]:
            print(f"clashwatch: invalid: {e}", file=sys.stderr)
        print(f"{len({e.task for e in result.invalid})} task(s) break a rule and were left out: every error is in "
              f"{result.report}", file=sys.stderr)
        return 1
    return 0


def cmd_predict(args) -> int:
    from ..labelstudio import _project, project_tasks, push_predictions
    from ..predict import Extractor

    client = _client(args)
    tasks = [t for t in project_tasks(client, _project(client, args.project).id) if t["doc_id"]]
    extractor = Extractor.load(args.model)
    version = args.model_version or getattr(extractor, "name", None) or "clashwatch"
    texts, ids = [t["data"]["text"] for t in tasks], [t["doc_id"] for t in tasks]
    if hasattr(extractor, "extract_batch"):
        outputs = list(extractor.extract_batch(texts, batch_size=args.batch_size, doc_ids=ids))
    else:
        outputs = [extractor.extract(text, doc_id=doc_id) for text, doc_id in zip(texts, ids)]
    predictions, scores, failed = {}, {}, 0
    for doc_id, out in zip(ids, outputs):
        if not hasattr(out, "to_label_studio"):  # a BatchItemError: report it, keep the others
            print(f"{doc_id}: extraction failed: {getattr(out, 'error', out)}", file=sys.stderr)
            failed += 1
            continue
        predictions[doc_id], scores[doc_id] = out.to_label_studio(), out.score
    result = push_predictions(client, args.project, predictions, version, scores)
    print(f"project {args.project!r}: {result.created} prediction(s) of {version!r}, "
          f"{result.replaced} older one(s) replaced, {failed} failed")
    return 1 if failed else 0


def add_parser(verbs) -> None:
    annotate = verbs.add_parser("annotate", help="annotate in a local Label Studio (serve, push, pull, predict)")
    sub = annotate.add_subparsers(dest="action", required=True)

    def connection(p):
        p.add_argument("--url", help="server URL (default: $CLASHWATCH_LS_URL)")
        p.add_argument("--token", help="API token (default: $CLASHWATCH_LS_TOKEN)")
        p.add_argument("--project", required=True, help="project title")

    p = sub.add_parser("serve", help="start Label Studio offline on 127.0.0.1 until Ctrl-C")
    p.add_argument("--port", type=int, help="default: a free port")
    p.add_argument("--data-dir", default=".ls-data", help="server database and login (default: .ls-data)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("push", help="import articles (.txt) or an export's texts as tasks; no duplicates")
    connection(p)
    p.add_argument("files", nargs="+", help=".txt articles (doc_id = file name) or Label Studio .json exports")
    p.add_argument("--with-annotations", action="store_true", help="also import an export's gold as annotations")
    p.add_argument("--label-config", help="default: annotations/labeling_config.xml")
    p.set_defaults(func=cmd_push)
    p = sub.add_parser("pull", help="export, validate and write the valid tasks to the gold file (invalid ones listed beside it)")
    connection(p)
    p.add_argument("--out", required=True, help="e.g. annotations/gold.json")
    p.add_argument("--require-all", action="store_true", help="fail when a task has no annotation yet")
    p.set_defaults(func=cmd_pull)
    p = sub.add_parser("predict", help="pre-annotate every task with a trained model (annotations untouched)")
    connection(p)
    p.add_argument("--model", help="model folder (default: the extractor's default)")
    p.add_argument("--model-version", help="default: the model folder's name")
    p.add_argument("--batch-size", type=int, default=8)
    p.set_defaults(func=cmd_predict)
