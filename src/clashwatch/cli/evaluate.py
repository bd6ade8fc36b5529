"""`clashwatch evaluate` (model + baseline report) and `clashwatch crossval` (leave one document out)."""

from __future__ import annotations


def cmd_evaluate(args) -> int:
    from ..report import evaluate

    out = evaluate(args.gold, args.model, args.out, crossval_path=args.crossval)
    print(f"report: {out / 'report.html'} (also report.md, metrics.json)")
    return 0


def cmd_crossval(args) -> int:
    from ..crossval import crossval, merge_results
    from ..schema import ConfigError

    if args.merge:
        out = merge_results(args.merge, args.out or "eval/reports/crossval", notes=args.note)
        print(f"cross-validation: {out / 'report.html'} (merged from {len(args.merge)} runs)")
        return 0
    if not args.config:
        raise ConfigError("crossval needs --config (or --merge)")

    out = crossval(args.config, variants=args.variants, out_dir=args.out, gold_path=args.gold,
                   held_out=args.held_out, curve_sizes=args.curve_sizes, threads=args.threads,
                   keep_models=args.keep_models, reuse_models=args.reuse_models)
    print(f"cross-validation: {out / 'report.html'} (also report.md, metrics.json)")
    return 0


def add_parser(verbs) -> None:
    from ..crossval import VARIANTS
    from ..report import CROSSVAL_METRICS

    p = verbs.add_parser("evaluate", help="score a model and the baseline on a gold file; write a report")
    p.add_argument("--gold", required=True, help="Label Studio JSON export (validated first)")
    p.add_argument("--model", help="model folder (models/NAME); without it only the baseline is scored")
    p.add_argument("--out", help="report folder (default eval/reports/NAME)")
    p.add_argument("--crossval", default=str(CROSSVAL_METRICS),
                   help="crossval metrics.json merged into the report when it exists")
    p.set_defaults(func=cmd_evaluate)

    p = verbs.add_parser("crossval", help="leave-one-document-out over the gold, variants and learning curve")
    p.add_argument("--config", help="training config (use a fast one)")
    p.add_argument("--merge", nargs="+", metavar="METRICS", help="merge the metrics.json of several runs into --out")
    p.add_argument("--note", action="append", help="with --merge: a paragraph for the report (repeatable)")
    p.add_argument("--variants", nargs="*", choices=VARIANTS,
                   help=f"default: all of {' '.join(VARIANTS)}; none (--variants with no name) for the curve alone")
    p.add_argument("--gold", help="gold export to cross-validate (default: the config's gold sources)")
    p.add_argument("--out", help="output folder (default eval/reports/crossval)")
    p.add_argument("--held-out", nargs="+", type=int, metavar="I",
                   help="hold out only these documents (0-based indices); --merge joins such runs")
    p.add_argument("--threads", type=int, metavar="N", help="torch threads per training (overrides the config)")
    p.add_argument("--keep-models", metavar="DIR", help="keep each fold's model in DIR (default: deleted after scoring)")
    p.add_argument("--reuse-models", action="store_true",
                   help="score the models kept in --keep-models again instead of training (same weights, new decoding)")
    p.add_argument("--curve-sizes", nargs="+", type=int, metavar="N",
                   help="numbers of synthetic articles for the learning curve (e.g. 0 30 100 200 330)")
    p.set_defaults(func=cmd_crossval)
