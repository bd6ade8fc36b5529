"""`clashwatch annotations validate|build|stats`: check and build gold files."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cmd_annotations_validate(args) -> int:
    from ..corpus import corpus_stats, load_export, validate_export
    from ..validate import lint_document

    status = 0
    for path in args.files:
        errors = validate_export(path)
        for e in errors:
            print(f"{path}: {e}", file=sys.stderr)
        if errors:
            status = 1
            print(f"{path}: {len(errors)} error(s)", file=sys.stderr)
        else:
            docs = load_export(path)
            stats = corpus_stats(docs)
            warnings = sum(len(lint_document(d)) for d in docs)
            print(f"{path}: valid, {stats['documents']} documents, {stats['span_total']} spans, "
                  f"{stats['relation_total']} relations" + (f"; {warnings} warning(s): `clashwatch annotations "
                                                           f"lint {path}` lists them" if warnings else ""))
    return status


def cmd_annotations_lint(args) -> int:
    from collections import Counter

    from ..corpus import load_export
    from ..validate import lint_document

    rules = Counter()
    for path in args.files:
        for doc in load_export(path):
            for w in lint_document(doc):
                rules[w.rule] += 1
                print(f"{path}: warning {w}")
    summary = ", ".join(f"{rule} {n}" for rule, n in rules.most_common()) or "none"
    print(f"{sum(rules.values())} warning(s): {summary}", file=sys.stderr)
    return 1 if rules and args.strict else 0


def cmd_annotations_agree(args) -> int:
    from ..agreement import agreement, write_agreement
    from ..corpus import load_export

    result = agreement(load_export(args.first), load_export(args.second))
    if args.out:
        write_agreement(args.out, result, args.first, args.second)
    print(f"{result['documents']} documents: span F1 {result['spans']['f1']:.3f} (exact), "
          f"{result['spans_overlap']['f1']:.3f} (overlapping, same label); relation F1 {result['relations']['f1']:.3f}"
          + (f"; disagreements in {args.out}" if args.out else ""))
    return 0


def cmd_annotations_build(args) -> int:
    from ..corpus import corpus_stats, write_export
    from ..standoff import build_from_ann

    extra = json.loads(args.data) if args.data else {}
    reference = None
    if args.reject_overlap_with:
        reference = [p.read_text(encoding="utf-8") for p in sorted(Path(args.reject_overlap_with).glob("*.txt"))]
    build = build_from_ann(args.texts, args.ann, extra, reference)
    for e in build.errors:
        print(f"rejected: {e}", file=sys.stderr)
    docs = build.documents
    if args.verbose:
        for d in docs:
            for s in d.sorted_spans():
                left = d.text[max(0, s.start - 30) : s.start].replace("\n", " ")
                right = d.text[s.end : s.end + 30].replace("\n", " ")
                print(f"{d.doc_id} {s.id:>4} {s.label:<10} {left}[[{s.text}]]{right}")
    write_export(args.out, docs)
    print(json.dumps(corpus_stats(docs), indent=1))
    if build.errors:
        rejected = len({e.task for e in build.errors})
        print(f"{rejected} article(s) rejected, {len(docs)} built into {args.out}", file=sys.stderr)
        return 1
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
    p.add_argument("--reject-overlap-with", metavar="DIR",
                   help="reject articles sharing more than 5%% of their word 8-grams with a .txt of DIR (the seeds)")
    p.set_defaults(func=cmd_annotations_build)
    p = sub.add_parser("agree", help="inter-annotator agreement of two exports of the same texts")
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--out", help="write the agreement and every disagreement (markdown) to this file")
    p.set_defaults(func=cmd_annotations_agree)
    p = sub.add_parser("lint", help="the guidelines' consistency checks (warnings: unlinked arguments, chains, ...)")
    p.add_argument("files", nargs="+")
    p.add_argument("--strict", action="store_true", help="exit non-zero when there is a warning")
    p.set_defaults(func=cmd_annotations_lint)
    p = sub.add_parser("stats", help="span and relation counts per label")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_annotations_stats)
    p = sub.add_parser("convert-re3d", help="convert re3d (entities) into span-only training data with its licences")
    p.add_argument("--src", required=True, help="folder of re3d source folders (documents.json, entities.json, LICENSE)")
    p.add_argument("--out", required=True, help="output folder: re3d.json, README.md, <source>/LICENSE, ATTRIBUTION")
    p.set_defaults(func=cmd_annotations_convert_re3d)
