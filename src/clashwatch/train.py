"""Training: validate everything, then (optionally) an intermediate tagger-only stage on re3d, then the
joint tagger + relation training; writes `models/NAME/`.

Runs the same under `python`, `accelerate launch` and `torchrun` (Accelerate picks up the launcher);
mixed precision is on when CUDA is there (`training.mixed_precision: auto`)."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

from .config import REPO_ROOT, TrainConfig, resolve_path
from .data import IGNORE, LABEL2ID, REL2ID, build_dataset, collate, tokenize_document
from .schema import SPAN_LABELS, ConfigError, Document

log = logging.getLogger("clashwatch.train")


# ------------------------------------------------------------------ inputs, checked before training


def load_sources(config: TrainConfig, docs: list[Document] | None = None) -> list[tuple[list[Document], float, dict]]:
    """(documents, weight, provenance) per source; `docs` replaces the gold sources. The provenance
    says whether the source is augmented (`augment.enabled` still decides whether anything is)."""
    from .corpus import load_export

    out, replaced = [], False
    for source in config.data.sources:
        if source.gold and docs is not None:
            if not replaced:
                out.append((list(docs), source.weight, {"path": "(docs given to train())", "sha256": docs_hash(docs),
                                                         "augment": source.augment}))
                replaced = True
            continue
        path = resolve_path(source.path)
        loaded = load_export(path)  # raises AnnotationError on the first invalid item
        out.append((loaded, source.weight, {"path": str(source.path), "sha256": file_hash(path), "documents": len(loaded),
                                            "augment": source.augment}))
    if docs is not None and not replaced:
        out.insert(0, (list(docs), 1.0, {"path": "(docs given to train())", "sha256": docs_hash(docs), "augment": True}))
    return out


def load_intermediate(config: TrainConfig) -> tuple[list[Document], dict] | None:
    stage = config.data.intermediate
    if stage is None:
        return None
    path = resolve_path(stage.path)
    if not path.exists():
        raise ConfigError(f"data.intermediate.path {stage.path} does not exist")
    try:
        from .re3d import load_re3d_documents
    except ImportError as e:
        raise ConfigError(f"data.intermediate needs clashwatch.re3d ({e})") from None
    docs = load_re3d_documents(path)
    return docs, {"path": str(stage.path), "sha256": docs_hash(docs), "documents": len(docs)}


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def docs_hash(docs: list[Document]) -> str:
    h = hashlib.sha256()
    for d in docs:
        h.update(json.dumps([d.doc_id, d.text, [(s.start, s.end, s.label) for s in d.sorted_spans()],
                             sorted((r.head, r.tail, r.label) for r in d.relations)]).encode())
    return h.hexdigest()


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO_ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


# ------------------------------------------------------------------ loss and evaluation


def joint_loss(logits, rel_logits, batch, tag_weights, rel_weights, relation_weight: float):
    """Class-weighted (O and none down-weighted), source-weighted means of the two cross-entropies."""
    import torch
    import torch.nn.functional as F

    labels = batch["labels"]
    window_w = batch["weight"][:, None].expand_as(labels)
    ce = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), weight=tag_weights, reduction="none",
                         ignore_index=IGNORE)
    valid = labels.flatten() != IGNORE
    w = tag_weights[labels.flatten().clamp(min=0)] * window_w.flatten() * valid
    tag_loss = (ce * window_w.flatten()).sum() / w.sum().clamp(min=1e-6)
    rel_loss = logits.new_zeros((), dtype=torch.float)
    parts = [(r, p[:, 2], batch["weight"][i]) for i, (r, p) in enumerate(zip(rel_logits, batch["pairs"])) if r is not None]
    if parts:
        r = torch.cat([x[0] for x in parts])
        y = torch.cat([x[1] for x in parts])
        ww = torch.cat([x[2].expand(len(x[1])) for x in parts])
        ce = F.cross_entropy(r, y, weight=rel_weights, reduction="none")
        rel_loss = (ce * ww).sum() / (rel_weights[y] * ww).sum().clamp(min=1e-6)
    return tag_loss + relation_weight * rel_loss, tag_loss.detach(), rel_loss.detach()


def evaluate(extractor, docs: list[Document]) -> dict:
    """Exact char-span P/R/F1 of the tagger, and relation P/R/F1 given gold spans."""
    tdocs = [tokenize_document(d.text, extractor.tokenizer) for d in docs]
    was_training = extractor.model.training
    extractor.model.eval()
    predicted = extractor.run(tdocs)
    given_gold = extractor.run(tdocs, gold_spans=[d.spans for d in docs])
    extractor.model.train(was_training)
    span_counts, rel_counts = [0, 0, 0], [0, 0, 0]
    per_label = {label: [0, 0, 0] for label in SPAN_LABELS}
    for doc, (spans, _), (_, rels) in zip(docs, predicted, given_gold):
        gold = {(s.start, s.end, s.label) for s in doc.spans}
        pred = {(s.start, s.end, s.label) for s in spans}
        for key, counts in ((gold & pred, 0), (pred - gold, 1), (gold - pred, 2)):
            span_counts[counts] += len(key)
            for k in key:
                per_label[k[2]][counts] += 1
        gold_r = {(r.head, r.tail, r.label) for r in doc.relations}
        pred_r = {(r.head, r.tail, r.label) for r in rels}
        rel_counts[0] += len(gold_r & pred_r)
        rel_counts[1] += len(pred_r - gold_r)
        rel_counts[2] += len(gold_r - pred_r)
    return {"spans": _prf(*span_counts), "relations_given_gold_spans": _prf(*rel_counts),
            "span_labels": {label: _prf(*c) for label, c in per_label.items() if any(c)}}


def _prf(tp: int, fp: int, fn: int) -> dict:
    from .evaluate import prf

    return {k: round(v, 4) if isinstance(v, float) else v for k, v in prf(tp, fp, fn).items() if k != "support"}


# ------------------------------------------------------------------ the training run


def train(config: TrainConfig, out_dir: Path | str, *, docs: list[Document] | None = None) -> Path:
    """Train the joint model and save it to `out_dir` (a `models/NAME/` folder). Every input is
    validated (sources, intermediate corpus, base model) before the first step."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from .augment import augment_documents, load_gazetteer
    from .corpus import load_export
    from .modeling import JointModel, RelationHead, load_tagger_for_training, resolve_base_model, save_model
    from .predict import Extractor

    started = time.time()
    out_dir = Path(out_dir)
    tc, dc = config.training, config.data

    # 1. everything that can be wrong with the inputs fails here, before any model is built
    base = resolve_base_model(config.base_model)
    sources = load_sources(config, docs)
    intermediate = load_intermediate(config)
    eval_docs = load_export(resolve_path(dc.eval)) if dc.eval else [d for ds, _, _ in sources[:1] for d in ds]
    if not any(ds for ds, _, _ in sources):
        raise ConfigError("the training sources hold no documents")
    gazetteer = None
    if config.augment.enabled and config.augment.substitution:
        gazetteer = load_gazetteer(resolve_path(config.augment.gazetteer) if config.augment.gazetteer else None,
                                   [d for ds, _, _ in sources for d in ds])

    if tc.threads:
        torch.set_num_threads(tc.threads)
    mixed = tc.mixed_precision
    if mixed == "auto":
        mixed = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if torch.cuda.is_available() else "no"
    accelerator = Accelerator(mixed_precision=mixed, gradient_accumulation_steps=tc.grad_accum)
    set_seed(tc.seed)
    if accelerator.is_main_process:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    # everything goes to a sibling work folder that replaces out_dir only once complete, so a failed or
    # interrupted run never leaves a half-written model (nor breaks the previous one)
    final_dir, out_dir = out_dir, out_dir.parent / f".{out_dir.name}.partial"
    if accelerator.is_main_process:
        shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    step_log = open(out_dir / "train_log.jsonl", "w", encoding="utf-8") if accelerator.is_main_process else None

    tagger, tokenizer = load_tagger_for_training(base)
    head = RelationHead(tagger.config.hidden_size, config.model.label_dim, config.model.hidden_dim, config.model.dropout)
    model = JointModel(tagger, head)

    # 2. data: sources with their weights, augmentation of the sources, windows
    train_docs, weights = [], []
    for ds, weight, provenance in sources:
        augmented = config.augment.enabled and provenance["augment"]
        extra = augment_documents(ds, config.augment, gazetteer) if augmented else []
        train_docs += ds + extra
        weights += [weight] * (len(ds) + len(extra))
    dataset = build_dataset(train_docs, tokenizer, dc.max_length, dc.stride, weights)
    stats = {"documents": len(train_docs), "original_documents": sum(len(ds) for ds, _, _ in sources),
             "windows": len(dataset), "gold_pairs": int(sum(sum(1 for p in ps if p[2]) for ps in dataset["pairs"])),
             "candidate_pairs": int(sum(len(ps) for ps in dataset["pairs"]))}
    log.info("training data: %s", stats)

    tag_weights = torch.ones(len(LABEL2ID))
    tag_weights[LABEL2ID["O"]] = tc.o_weight
    rel_weights = torch.ones(len(REL2ID))
    rel_weights[REL2ID["none"]] = tc.none_weight
    tag_weights, rel_weights = tag_weights.to(accelerator.device), rel_weights.to(accelerator.device)
    pad_id = tokenizer.pad_token_id or 0

    def loader(ds):
        g = torch.Generator().manual_seed(tc.seed)
        return DataLoader(ds, batch_size=tc.batch_size, shuffle=True, generator=g,
                          collate_fn=lambda rows: collate(rows, pad_id))

    if tc.freeze_embeddings:
        model.tagger.get_input_embeddings().weight.requires_grad_(False)
    encoder_ids = {id(p) for p in model.tagger.base_model.parameters()}
    groups = [
        {"params": [p for p in model.parameters() if id(p) in encoder_ids and p.requires_grad], "lr": tc.lr},
        {"params": [p for p in model.parameters() if id(p) not in encoder_ids], "lr": tc.head_lr or tc.lr},
    ]
    history, global_step = [], 0

    def run_stage(name: str, data, epochs: int, relation_weight: float) -> None:
        nonlocal global_step, model
        optimizer = torch.optim.AdamW(groups, weight_decay=tc.weight_decay)
        dl = loader(data)
        steps = epochs * math.ceil(len(dl) / tc.grad_accum)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(tc.warmup_ratio * steps), steps)
        prepared, optimizer, dl, scheduler = accelerator.prepare(model, optimizer, dl, scheduler)
        bar = tqdm(total=epochs * len(dl), desc=name, disable=not accelerator.is_local_main_process)
        for epoch in range(1, epochs + 1):
            prepared.train()
            totals = [0.0, 0.0, 0]
            for batch in dl:
                with accelerator.accumulate(prepared):
                    logits, rel = prepared(batch["input_ids"], batch["attention_mask"], batch["spans"], batch["pairs"])
                    loss, tag_loss, rel_loss = joint_loss(logits, rel, batch, tag_weights, rel_weights, relation_weight)
                    accelerator.backward(loss)
                    if accelerator.sync_gradients:
                        accelerator.clip_grad_norm_(prepared.parameters(), tc.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                global_step += 1
                totals[0] += tag_loss.item()
                totals[1] += rel_loss.item()
                totals[2] += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
                if step_log:
                    step_log.write(json.dumps({"stage": name, "epoch": epoch, "step": global_step,
                                               "loss": round(loss.item(), 5), "tag_loss": round(tag_loss.item(), 5),
                                               "relation_loss": round(rel_loss.item(), 5),
                                               "lr": scheduler.get_last_lr()[0]}) + "\n")
            record = {"stage": name, "epoch": epoch, "tag_loss": round(totals[0] / max(totals[2], 1), 5),
                      "relation_loss": round(totals[1] / max(totals[2], 1), 5)}
            last = epoch == epochs
            if name == "joint" and accelerator.is_main_process and (last or tc.eval_every and epoch % tc.eval_every == 0):
                extractor = Extractor(accelerator.unwrap_model(prepared), tokenizer, max_length=dc.max_length,
                                      stride=dc.stride, device=accelerator.device)
                record["eval"] = evaluate(extractor, eval_docs)
                bar.write(f"epoch {epoch}: tag loss {record['tag_loss']:.4f}, relation loss "
                          f"{record['relation_loss']:.4f}, span F1 {record['eval']['spans']['f1']:.3f}, relation F1 "
                          f"(gold spans) {record['eval']['relations_given_gold_spans']['f1']:.3f}")
            history.append(record)
            if step_log:
                step_log.write(json.dumps({"epoch_end": record}) + "\n")
                step_log.flush()
        bar.close()
        model = accelerator.unwrap_model(prepared)

    if intermediate is not None:
        stage_data = build_dataset(intermediate[0], tokenizer, dc.max_length, dc.stride, with_relations=False)
        run_stage("intermediate", stage_data, dc.intermediate.epochs, 0.0)
    run_stage("joint", dataset, tc.epochs, tc.relation_weight)
    accelerator.wait_for_everyone()

    if accelerator.is_main_process:
        model = accelerator.unwrap_model(model).float()
        save_model(model, tokenizer, out_dir)
        (out_dir / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")
        final = next((h["eval"] for h in reversed(history) if "eval" in h), None)
        info = {
            "git_commit": git_commit(),
            "base_model": config.base_model,
            "base_model_resolved": base,
            "data": {"sources": [{**prov, "weight": w} for _, w, prov in sources],
                     "intermediate": intermediate[1] if intermediate else None,
                     "eval": str(dc.eval) if dc.eval else "training gold (no held-out file)", **stats},
            "metrics": {"final": final, "history": history},
            "time": {"train_seconds": round(time.time() - started, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")},
            "environment": {"torch": torch.__version__, "python": platform.python_version(), "device": str(accelerator.device),
                            "mixed_precision": mixed, "processes": accelerator.num_processes,
                            "threads": torch.get_num_threads(),
                            "cuda_peak_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20)
                            if torch.cuda.is_available() else None},
        }
        (out_dir / "training.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        (out_dir / "README.md").write_text(model_card(config, info, final_dir.name), encoding="utf-8")
    if step_log:
        step_log.close()
    if accelerator.is_main_process:
        replace_dir(out_dir, final_dir)
        log.info("saved %s in %.1f s", final_dir, time.time() - started)
    return final_dir


def replace_dir(src: Path, dst: Path) -> None:
    """Put the folder `src` at `dst`, removing what was there only after the move succeeded."""
    old = dst.parent / f".{dst.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if dst.exists():
        os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def model_card(config: TrainConfig, info: dict, name: str) -> str:
    final = info["metrics"]["final"] or {}
    spans, rels = final.get("spans", {}), final.get("relations_given_gold_spans", {})
    sources = "\n".join(f"- `{s['path']}` (weight {s['weight']}, sha256 `{s['sha256'][:16]}…`)" for s in info["data"]["sources"])
    return f"""# clashwatch model `{name}`

Joint span tagger + relation model for armed border clash events (annotation spec v1.1).

- **Tagger**: `tagger/`, a stock `AutoModelForTokenClassification` over IOB2 of the 9 span labels
  (`transformers.pipeline("token-classification", model="{name}/tagger")` loads it).
- **Relation head**: `relation_head.safetensors` + `relation_config.json`, SpERT-style over the tagger's
  encoder (head/tail span max-pool, mean-pooled context between, label and distance embeddings), classes none + 9
  relation labels, logits masked to the pairs the spec allows.
- **Base model**: `{config.base_model}`; windows of {config.data.max_length} tokens, stride {config.data.stride}.
- **Load**: `clashwatch.predict.Extractor.load("models/{name}")` (local files only).

## Training data
{sources}

{info['data']['documents']} documents after augmentation (augmentation {'on' if config.augment.enabled else 'off'}),
{info['data']['windows']} windows, {info['data']['gold_pairs']} gold relation pairs among {info['data']['candidate_pairs']} candidates.

## Metrics (evaluated on: {info['data']['eval']})
| | precision | recall | F1 |
|---|---|---|---|
| spans (exact char) | {spans.get('precision', '-')} | {spans.get('recall', '-')} | {spans.get('f1', '-')} |
| relations given gold spans | {rels.get('precision', '-')} | {rels.get('recall', '-')} | {rels.get('f1', '-')} |

With no held-out file these are training-set numbers (a fit check, not an estimate of accuracy);
cross-validation (`clashwatch.crossval`) gives the honest ones.

## Provenance
git commit `{info['git_commit']}`, trained in {info['time']['train_seconds']} s on {info['environment']['device']}
(mixed precision: {info['environment']['mixed_precision']}), {info['time']['finished']}. Config: `config.yaml`.

## Limits
Five seed articles of Kyrgyz–Tajik border news: expect the model to miss unseen phrasings, other
conflicts and long-range links (pairs farther apart than one window are never scored).
"""
