"""`clashwatch train --config FILE [--out models/NAME]`: fine-tune the tagger and the relation model."""

from __future__ import annotations

from pathlib import Path


def cmd_train(args) -> int:
    from ..config import load_config
    from ..train import train

    config = load_config(args.config)
    out = Path(args.out) if args.out else Path("models") / Path(args.config).stem
    path = train(config, out)
    print(f"model saved to {path}")
    return 0


def add_parser(verbs) -> None:
    p = verbs.add_parser("train", help="fine-tune the span tagger and the relation model from a config")
    p.add_argument("--config", required=True, help="a training config, e.g. train/default.yaml")
    p.add_argument("--out", help="model folder (default: models/<config name>)")
    p.set_defaults(func=cmd_train)
