"""The joint model: a stock token-classification tagger, a SpERT-style relation head and an event head
over the same encoder.

- The relation head classifies all candidate pairs of a window from one encoding: max-pooled head span,
  tail span and the context between them, plus span-label and distance embeddings.
- The event head scores pairs of trigger mentions anywhere in a document (same_event or not) from their
  pooled encodings and a few document features (`grouping.pair_features`); `grouping` clusters them.

A model folder (`models/NAME/`) holds either a full tagger checkpoint or, for a LoRA-trained model, only
the adapters and the classifier (`tagger/adapter_model.safetensors`, fp16) over a packaged base encoder
named in `manifest.json`; `manifest.json` lists every file with its sha256, checked at load."""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from .data import ID2LABEL, LABEL2ID, REL_CLASSES
from .schema import SPAN_LABELS, ConfigError, ModelNotFoundError, allowed_relations

DISTANCE_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
SENTENCE_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24)
MANIFEST = "manifest.json"
TRAIN_HINT = "clashwatch train --config train/default.yaml --out models/default"


def relation_mask() -> torch.Tensor:
    """[head label, tail label, relation class] -> allowed; `none` is always allowed."""
    mask = torch.zeros(len(SPAN_LABELS), len(SPAN_LABELS), len(REL_CLASSES), dtype=torch.bool)
    mask[:, :, 0] = True
    for h, hl in enumerate(SPAN_LABELS):
        for t, tl in enumerate(SPAN_LABELS):
            for rel in allowed_relations(hl, tl):
                mask[h, t, REL_CLASSES.index(rel)] = True
    return mask


def bucket(distance: torch.Tensor, edges=DISTANCE_BUCKETS) -> torch.Tensor:
    return torch.bucketize(distance.abs(), torch.tensor(edges, device=distance.device), right=True) - 1


def pool_spans(hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """Max-pool each span [first token, last token, ...] of one window's hidden states [T, H] -> [S, H]:
    a gather of [S, longest span, H] rather than a mask [S, T, H]."""
    T = hidden.size(0)
    width = int((spans[:, 1] - spans[:, 0]).max()) + 1 if spans.numel() else 1
    index = spans[:, :1] + torch.arange(width, device=hidden.device)[None]
    inside = index <= spans[:, 1:2]
    gathered = hidden[index.clamp(max=T - 1)]
    return gathered.masked_fill(~inside[..., None], torch.finfo(hidden.dtype).min).amax(1)


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
        span_repr = pool_spans(hidden, spans)
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
            dist = self.dist_emb(bucket(right - left) + direction)
            x = torch.cat([span_repr[p[:, 0]], span_repr[p[:, 1]], ctx,
                           self.label_emb(h[:, 2]), self.label_emb(t[:, 2]), dist], -1)
            logits = self.mlp(self.dropout(x))
            allowed = self.mask[h[:, 2], t[:, 2]]
            out.append(logits.float().masked_fill(~allowed, -1e4))
        if not out:
            return hidden.new_zeros((0, len(REL_CLASSES)), dtype=torch.float)
        return torch.cat(out)


class EventHead(nn.Module):
    """Scores whether a later trigger mention refers to the same event as an earlier one (a logit), from
    the two mentions' pooled encodings (each from the window where it has most context), their product,
    the sentence distance and the document features of `grouping.pair_features`."""

    def __init__(self, hidden_size: int, n_features: int, hidden_dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.config = {"hidden_size": hidden_size, "n_features": n_features, "hidden_dim": hidden_dim, "dropout": dropout}
        self.dist_emb = nn.Embedding(len(SENTENCE_BUCKETS), 16)
        self.mlp = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(3 * hidden_size + 16 + n_features, hidden_dim), nn.GELU(),
            nn.Dropout(dropout), nn.Linear(hidden_dim, 1),
        )

    def forward(self, later: torch.Tensor, earlier: torch.Tensor, sentences: torch.Tensor, features: torch.Tensor):
        """later, earlier [P, H]; sentences [P] (sentence distance); features [P, F] -> logits [P]."""
        dist = self.dist_emb(bucket(sentences, SENTENCE_BUCKETS))
        x = torch.cat([later, earlier, later * earlier, dist, features.float()], -1)
        return self.mlp(x).squeeze(-1)


class JointModel(nn.Module):
    """Tagger (AutoModelForTokenClassification) + relation head + event head over the tagger's last
    hidden state."""

    def __init__(self, tagger, relation_head: RelationHead, event_head: EventHead | None = None):
        super().__init__()
        self.tagger = tagger
        self.relation_head = relation_head
        self.event_head = event_head

    def encode(self, input_ids, attention_mask):
        out = self.tagger(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out.logits, out.hidden_states[-1]

    def forward(self, input_ids, attention_mask, spans: list[torch.Tensor], pairs: list[torch.Tensor]):
        """Tag logits [B, T, tags] and, per window, relation logits [P_i, classes]."""
        logits, hidden = self.encode(input_ids, attention_mask)
        rel = [self.relation_head(hidden[i], s, p[:, :2]) if p.numel() else None
               for i, (s, p) in enumerate(zip(spans, pairs))]
        return logits, rel


# ---------------------------------------------------------------- loading the pieces quietly


@contextlib.contextmanager
def quiet_transformers():
    """transformers prints a "LOAD REPORT" table of missing and unexpected keys when a classifier is
    built on a bare encoder; we check the keys ourselves (`_check_fresh_keys`), so keep it off screen."""
    from transformers.utils import logging as hf_logging

    previous, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)
        if bars:
            hf_logging.enable_progress_bar()


def _check_fresh_keys(info: dict, base: str) -> None:
    """Building a token classifier on an encoder checkpoint leaves exactly the classifier new."""
    missing = [k for k in info.get("missing_keys", []) if not k.startswith("classifier.")]
    if missing:
        raise ModelNotFoundError(f"base model {base!r} lacks encoder weights: {', '.join(sorted(missing)[:5])}")


def build_tagger(base: str, config=None):
    """A token classifier with our label map on `base` (a resolved encoder path or hub id), quietly."""
    from transformers import AutoConfig, AutoModelForTokenClassification

    local = Path(base).exists()
    try:
        with quiet_transformers():
            if config is None:
                config = AutoConfig.from_pretrained(base, num_labels=len(ID2LABEL), id2label=dict(ID2LABEL),
                                                    label2id=dict(LABEL2ID), local_files_only=local)
            tagger, info = AutoModelForTokenClassification.from_pretrained(
                base, config=config, local_files_only=local, output_loading_info=True)
    except OSError as e:
        raise ModelNotFoundError(f"cannot load base model {base!r}: {e}") from None
    _check_fresh_keys(info, base)
    return tagger


def load_tokenizer(path: str) -> object:
    from transformers import AutoTokenizer

    local = Path(path).exists()
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
    except (OSError, ValueError) as e:
        raise ModelNotFoundError(f"cannot load the tokenizer of {path}: {e}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"{path} has no fast tokenizer (offset mappings are needed)")
    return tokenizer


def position_limit(tagger_or_config) -> int | None:
    """The most tokens the encoder can take in one window (None when it does not say)."""
    config = getattr(tagger_or_config, "config", tagger_or_config)
    limit = getattr(config, "max_position_embeddings", None)
    if limit is None:
        return None
    # RoBERTa-style encoders (MPNet among them) offset positions by the padding index + 1
    return int(limit) - (int(config.pad_token_id) + 1 if config.model_type in ("roberta", "mpnet", "xlm-roberta") else 0)


def check_max_length(max_length: int, config, where: str) -> None:
    limit = position_limit(config)
    if limit is not None and max_length > limit:
        raise ConfigError(f"{where}: max_length {max_length} exceeds the encoder's position limit of {limit} tokens")


# ---------------------------------------------------------------- LoRA


def add_lora(tagger, r: int, alpha: int, dropout: float):
    """LoRA adapters on every linear layer of the encoder; the classifier is trained in full."""
    from peft import LoraConfig, TaskType, get_peft_model

    encoder_linear = [name for name, m in tagger.named_modules()
                      if isinstance(m, nn.Linear) and not name.startswith("classifier")]
    config = LoraConfig(task_type=TaskType.TOKEN_CLS, r=r, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=encoder_linear)
    with warnings.catch_warnings():  # peft asks transformers a deprecated question; not the user's concern
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(tagger, config)


def is_lora(tagger) -> bool:
    return hasattr(tagger, "peft_config")


# ---------------------------------------------------------------- saving and loading a model folder


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _save_lora_tagger(tagger, out: Path) -> None:
    from safetensors.torch import load_file, save_file

    tagger.save_pretrained(out)
    weights = out / "adapter_model.safetensors"
    # fp16 halves the shipped folder; the adapters are merged into fp32 weights at load
    save_file({k: v.half().contiguous() for k, v in load_file(str(weights)).items()}, str(weights))
    config = json.loads((out / "adapter_config.json").read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = None  # machine-specific cache path; manifest.json names the base
    (out / "adapter_config.json").write_text(json.dumps(config, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tagger.get_base_model().config.save_pretrained(out)


def save_model(model: JointModel, tokenizer, out_dir: Path, base_model: str) -> None:
    """Write the model folder: tagger (full, or LoRA adapters + classifier), tokenizer, heads, manifest."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    tagger_dir = out_dir / "tagger"
    with quiet_transformers():
        if is_lora(model.tagger):
            _save_lora_tagger(model.tagger, tagger_dir)
        else:
            model.tagger.save_pretrained(tagger_dir)
    tokenizer.save_pretrained(tagger_dir)
    for name, head in (("relation", model.relation_head), ("event", model.event_head)):
        if head is None:
            continue
        # fp16 on disk (the heads are loaded back into fp32): keeps a shipped LoRA model under 10 MB
        save_file({k: v.detach().half().cpu().contiguous() for k, v in head.state_dict().items()},
                  str(out_dir / f"{name}_head.safetensors"))
        config = dict(head.config, span_labels=list(SPAN_LABELS), relation_classes=list(REL_CLASSES),
                      distance_buckets=list(DISTANCE_BUCKETS))
        (out_dir / f"{name}_config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    write_manifest(out_dir, base_model, lora=is_lora(model.tagger))


def write_manifest(out_dir: Path, base_model: str, lora: bool) -> None:
    files = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != MANIFEST and "onnx" not in p.parts)
    manifest = {"format": "lora" if lora else "full", "base_model": base_model,
                "files": {p.relative_to(out_dir).as_posix(): {"sha256": _sha256(p), "bytes": p.stat().st_size}
                          for p in files}}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


REQUIRED = ("tagger/config.json", "tagger/tokenizer.json", "tagger/tokenizer_config.json",
            "relation_head.safetensors", "relation_config.json", "event_head.safetensors", "event_config.json",
            "lexicon.json")


def check_model_folder(path: Path) -> dict:
    """Every file the model needs is there and unaltered (manifest.json), else ModelNotFoundError naming
    the file; returns the manifest."""
    if not (path / MANIFEST).is_file():
        raise ModelNotFoundError(f"{path} is not a trained clashwatch model (no {MANIFEST}); `{TRAIN_HINT}` trains one")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        files, lora = manifest["files"], manifest["format"] == "lora"
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ModelNotFoundError(f"{path / MANIFEST} is corrupt ({e}); retrain with `{TRAIN_HINT}`") from None
    weights = ("tagger/adapter_model.safetensors", "tagger/adapter_config.json") if lora else ("tagger/model.safetensors",)
    for name in (*REQUIRED, *weights, *files):
        if name not in files:
            raise ModelNotFoundError(f"{path} lacks {name} (not in its {MANIFEST}); retrain with `{TRAIN_HINT}`")
        f = path / name
        if not f.is_file():
            raise ModelNotFoundError(f"{path} lacks {name}; restore it (git checkout) or retrain with `{TRAIN_HINT}`")
        if f.stat().st_size != files[name]["bytes"] or _sha256(f) != files[name]["sha256"]:
            raise ModelNotFoundError(f"{f} was altered since training (size or sha256 differs from {MANIFEST}); "
                                     "restore it (git checkout) or retrain")
    return manifest


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelNotFoundError(f"cannot read {path}: {e}") from None


def _load_head(path: Path, name: str, make):
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config = _read_json(path / f"{name}_config.json")
    if config.get("span_labels") != list(SPAN_LABELS) or config.get("relation_classes") != list(REL_CLASSES):
        raise ModelNotFoundError(f"{path} was trained with other labels than this version of the schema")
    head = make(config)
    try:
        head.load_state_dict({k: v.float() for k, v in load_file(str(path / f"{name}_head.safetensors")).items()})
    except (SafetensorError, RuntimeError, OSError) as e:
        raise ModelNotFoundError(f"{path / f'{name}_head.safetensors'} does not load: {e}") from None
    return head


def _load_tagger(path: Path, manifest: dict):
    from transformers import AutoConfig, AutoModelForTokenClassification

    tagger_dir = path / "tagger"
    with quiet_transformers():
        config = AutoConfig.from_pretrained(tagger_dir, local_files_only=True)
    if manifest["format"] != "lora":
        with quiet_transformers():
            return AutoModelForTokenClassification.from_pretrained(tagger_dir, local_files_only=True)
    from peft import PeftModel

    from .encoders import resolve_base_model

    tagger = build_tagger(resolve_base_model(manifest["base_model"]), config)
    with quiet_transformers(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # peft asks transformers a deprecated question
        tagger = PeftModel.from_pretrained(tagger, tagger_dir, local_files_only=True)
    return tagger.merge_and_unload()  # plain weights again: inference as fast as a full fine-tune


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[JointModel, object, dict]:
    """Load a `models/NAME/` folder (local files only; the packaged base encoder for a LoRA model):
    (model, tokenizer, manifest)."""
    path = Path(path)
    manifest = check_model_folder(path)
    tagger = _load_tagger(path, manifest)
    tokenizer = load_tokenizer(str(path / "tagger"))
    if len(tokenizer) > tagger.config.vocab_size:
        raise ModelNotFoundError(f"{path / 'tagger'}: its tokenizer ({len(tokenizer)} tokens) does not fit the "
                                 f"encoder's vocabulary ({tagger.config.vocab_size})")
    relation = _load_head(path, "relation", lambda c: RelationHead(c["hidden_size"], c["label_dim"], c["hidden_dim"],
                                                                    c["dropout"]))
    event = _load_head(path, "event", lambda c: EventHead(c["hidden_size"], c["n_features"], c["hidden_dim"],
                                                          c["dropout"]))
    model = JointModel(tagger, relation, event).to(device).eval()
    return model, tokenizer, manifest
