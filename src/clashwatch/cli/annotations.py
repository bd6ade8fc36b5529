"""`clashwatch annotations validate|build|stats`: check and build gold files."""

from __future__ import annotations

import json
import sys


def cmd_annotations_validate(args) -> int:
    from ..corpus import corpus_stats, load_export, validate_export

    status = 0
    for path in args.files:
        errors = validate_export(path)
        for e in errors:
            print(f"{path}: {e}", file=sys.stderr)
        if errors:
            status = 1
            print(f"{path}: {len(errors)} error(s)", file=sys.stderr)
        else:
            stats = corpus_stats(load_export(path))
            print(f"{path}: valid, {stats['documents']} documents, {stats['span_total']} spans, "
                  f"{stats['relation_total']} relations")
    return status


def cmd_annotations_build(args) -> int:
    from ..corpus import build_from_ann, corpus_stats, write_export

    extra = json.loads(args.data) if args.data else {}
    docs = build_from_ann(args.texts, args.ann, extra)
    if args.verbose:
        for d in docs:
            for s in d.sorted_spans():
                left = d.text[max(0, s.start - 30) : s.start].replace("\n", " ")
                right = d.text[s.end : s.end + 30].replace("\n", " ")
                print(f"{d.doc_id} {s.id:>4} {s.label:<10} {left}[[{s.text}]]{right}")
    write_export(args.out, docs)
    print(json.dumps(corpus_stats(docs), indent=1))
    return 0


def cmd_annotations_stats(args) -> int:
    from ..corpus import corpus_stats, load_export

    docs = [d for path in args.files for d in load_export(path)]
    print(json.dumps(corpus_stats(docs), indent=1))
    return 0


def cmd_annotations_convert_re3d(args) -> int:
    from ..re3d import convert_re3d

    print(json.dumps(convert_re3d(args.src, args.out), indent=1))
    return 0


def add_parser(verbs) -> None:
    annotations = verbs.add_parser("annotations", help="check and build gold annotation files")
    sub = annotations.add_subparsers(dest="action", required=True)
    p = sub.add_parser("validate", help="check every mechanical rule of the spec; non-zero exit on errors")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_annotations_validate)
    p = sub.add_parser("build", help="build a Label Studio export from stand-off .ann files")
    p.add_argument("--texts", required=True, help="folder of <doc_id>.txt")
    p.add_argument("--ann", required=True, help="folder of <doc_id>.ann")
    p.add_argument("--out", required=True)
    p.add_argument("--data", help="JSON object merged into every task's data, e.g. '{\"synthetic\": true}'")
    p.add_argument("-v", "--verbose", action="store_true", help="print every span in context")
    p.set_defaults(func=cmd_annotations_build)
    p = sub.add_parser("stats", help="span and relation counts per label")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_annotations_stats)
    p = sub.add_parser("convert-re3d", help="convert re3d (entities) into span-only training data with its licences")
    p.add_argument("--src", required=True, help="folder of re3d source folders (documents.json, entities.json, LICENSE)")
    p.add_argument("--out", required=True, help="output folder: re3d.json, README.md, <source>/LICENSE, ATTRIBUTION")
    p.set_defaults(func=cmd_annotations_convert_re3d)
