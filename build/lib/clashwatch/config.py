"""The typed training config: pydantic models (unknown keys rejected) loaded from YAML.

    base_model: minilm                       # named packaged encoder, local path or hub id
    data:
      sources:                               # Label Studio exports, validated before training
        - {path: annotations/gold.json, weight: 1.0, gold: true}
        - {path: annotations/synthetic/synthetic.json, weight: 0.5}
      intermediate: {path: annotations/re3d, epochs: 1}   # optional first stage, null to skip
    augment: {enabled: true, copies: 2, sentence_windows: true, seed: 0}
    training: {epochs: 10, lr: 1.0e-4, ...}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .schema import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]  # a checkout (editable install); see resolve_path


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SourceConfig(_Strict):
    path: Path
    weight: float = Field(1.0, gt=0, description="sampling weight: this source's share of the training windows "
                                                  "(normalised over the sources)")
    gold: bool = Field(True, description="replaced by train(docs=...) (cross-validation); false for synthetic data")
    augment: bool = Field(True, description="augment this source's documents when augment.enabled")


class IntermediateConfig(_Strict):
    path: Path
    steps: int = Field(100, ge=1, description="tagger-only steps on this corpus before the joint training")


class DataConfig(_Strict):
    sources: list[SourceConfig] = Field(min_length=1)
    intermediate: IntermediateConfig | None = None
    eval: Path | None = Field(None, description="held-out export evaluated each epoch (default: the training gold)")
    max_length: int = Field(256, ge=32, le=4096, description="tokens per window, special tokens included")
    stride: int = Field(64, ge=0, description="tokens shared by consecutive windows")

    @model_validator(mode="after")
    def _stride_fits(self):
        if self.stride >= self.max_length - 8:
            raise ValueError(f"stride {self.stride} must be well below max_length {self.max_length}")
        return self


class AugmentConfig(_Strict):
    enabled: bool = False
    copies: int = Field(2, ge=0, description="substituted copies per document")
    substitution: bool = True
    sentence_windows: bool = True
    windows_per_doc: int = Field(4, ge=0)
    window_sentences: tuple[int, int] = (2, 6)
    gazetteer: Path | None = Field(None, description="YAML {LABEL: [entries]} merged into the built-in gazetteers")
    seed: int = 0


class ModelConfig(_Strict):
    dropout: float = Field(0.1, ge=0, lt=1)
    label_dim: int = Field(32, ge=1)
    hidden_dim: int = Field(256, ge=8)


class LoraConfig(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)


class EventHeadConfig(_Strict):
    epochs: int = Field(30, ge=1, description="passes over the mention pairs (the encoder is frozen by then)")
    lr: float = Field(1e-3, gt=0)
    hidden_dim: int = Field(256, ge=8)


class TrainingConfig(_Strict):
    max_steps: int = Field(1000, ge=1, description="optimizer steps of the joint stage: the time budget, "
                                                   "whatever the corpus size")
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(1e-4, gt=0)
    head_lr: float | None = Field(None, gt=0, description="learning rate of the new heads (default: lr)")
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    max_grad_norm: float = Field(1.0, gt=0)
    freeze_embeddings: bool = Field(False, description="keep the input embeddings fixed (faster on CPU, less overfit)")
    o_weight: float = Field(0.3, gt=0, le=1, description="loss weight of the O class (the rest get 1)")
    none_weight: float = Field(0.5, gt=0, le=1, description="loss weight of the relation `none` class")
    relation_weight: float = Field(1.0, ge=0, description="relation loss weight in the joint loss")
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = "auto"
    threads: int | None = Field(None, ge=1, description="torch CPU threads (None: torch's default)")
    seed: int = 0
    check_every: int = Field(0, ge=0, description="fit check on the eval documents every N steps (0: at the end)")
    lora: LoraConfig | None = Field(None, description="LoRA adapters on the encoder's linear layers instead of a "
                                                      "full fine-tune (the saved model then holds only them)")
    event_head: EventHeadConfig = EventHeadConfig()


class TrainConfig(_Strict):
    base_model: str = "minilm"
    data: DataConfig
    augment: AugmentConfig = AugmentConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def installed_file(relative: Path) -> Path:
    """A file or folder the project ships: in the checkout (an editable install), else where the installed
    wheel put its data files (`<prefix>/share/clashwatch/...`, pyproject.toml's data-files), found through
    the distribution's own file list, whatever the prefix (venv, --user, --prefix)."""
    from importlib import metadata

    checkout = REPO_ROOT / relative
    if checkout.exists():
        return checkout
    try:
        dist = metadata.distribution("clashwatch")
    except metadata.PackageNotFoundError:
        return checkout
    files = dist.files or []
    for name in (relative.as_posix(), relative.name):
        suffix = f"share/clashwatch/{name}"
        for f in files:
            located = str(dist.locate_file(f)).replace("\\", "/")
            if located.endswith(suffix) or f"{suffix}/" in located:
                return Path(located[: located.index(suffix) + len(suffix)])
    return checkout


def resolve_path(path: Path | str) -> Path:
    """Relative config paths are taken from the working directory, else from the repository root."""
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return REPO_ROOT / path if (REPO_ROOT / path).exists() else path


def _format(e: ValidationError, source: str) -> str:
    lines = [f"{source}: {e.error_count()} error(s)"]
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        lines.append(f"  {where}: {err['msg']}" + (f" (got {err['input']!r})" if err["type"] != "missing" else ""))
    return "\n".join(lines)


def config_from_dict(obj: dict, source: str = "config") -> TrainConfig:
    if not isinstance(obj, dict):
        raise ConfigError(f"{source}: a training config is a mapping, got {type(obj).__name__}")
    try:
        return TrainConfig.model_validate(obj)
    except ValidationError as e:
        raise ConfigError(_format(e, source)) from None


def load_config(path: str | Path, overrides: dict | None = None) -> TrainConfig:
    """Read and validate a YAML training config; `overrides` are merged in (nested dicts)."""
    path = Path(path)
    try:
        obj = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no such config file: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    if overrides:
        obj = _merge(obj if isinstance(obj, dict) else {}, overrides)
    return config_from_dict(obj, str(path))


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def model_settings(model_dir: Path, encoder_config) -> tuple[int, int]:
    """(max_length, stride) of a trained model folder from its `config.yaml`, validated like a training
    config (a typo is an error, not a silent default) and checked against the encoder's position limit."""
    from .modeling import check_max_length
    from .schema import ModelNotFoundError

    path = Path(model_dir) / "config.yaml"
    if not path.is_file():
        raise ModelNotFoundError(f"{model_dir} lacks config.yaml (the config it was trained with)")
    config = load_config(path)
    check_max_length(config.data.max_length, encoder_config, str(path))
    return config.data.max_length, config.data.stride
