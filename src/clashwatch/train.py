"""Training, as the recipe reads:

    inputs = check_inputs(config, docs)        every file, the base encoder and max_length, before any work
    model, tokenizer = build_model(config, inputs)
    windows = training_windows(...)           sources (augmented), sampled by weight for max_steps
    fit_tagger(...)                            optional tagger-only stage on re3d
    fit_joint(...)                             tagger + relation head, max_steps steps
    fit_event_head(...)                        mention-pair scorer on the frozen encoder
    save(...)                                  models/NAME/, swapped in only when complete

Runs the same under `python`, `accelerate launch` and `torchrun` (Accelerate picks up the launcher; only
rank 0 writes); mixed precision is on when CUDA is there (`training.mixed_precision: auto`)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import random
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import REPO_ROOT, TrainConfig, resolve_path
from .data import IGNORE, LABEL2ID, REL2ID, build_dataset, collate, tokenize_document
from .schema import SPAN_LABELS, ConfigError, Document

TRAIN_DOCS_SOURCE = "(docs given to train())"  # provenance name of the documents passed to train()

log = logging.getLogger("clashwatch.train")


# ------------------------------------------------------------------ 1. inputs, checked before training


@dataclass
class Source:
    docs: list[Document]
    weight: float
    provenance: dict


@dataclass
class Inputs:
    base: str  # the resolved base encoder (path or hub id)
    sources: list[Source]
    intermediate: tuple[list[Document], dict] | None
    check_docs: list[Document]  # the fit check's documents
    gazetteer: dict | None = None
    notes: dict = field(default_factory=dict)


def load_sources(config: TrainConfig, docs: list[Document] | None = None) -> list[Source]:
    """One Source per config source; `docs` replaces the gold sources (cross-validation). The provenance
    says whether the source is augmented (`augment.enabled` still decides whether anything is)."""
    from .corpus import load_export

    out, replaced = [], False
    for source in config.data.sources:
        if source.gold and docs is not None:
            if not replaced:
                out.append(Source(list(docs), source.weight, {"path": TRAIN_DOCS_SOURCE, "sha256": docs_hash(docs),
                                                              "documents": len(docs), "augment": source.augment}))
                replaced = True
            continue
        path = resolve_path(source.path)
        loaded = load_export(path)  # raises AnnotationError on the first invalid item
        out.append(Source(loaded, source.weight, {"path": str(source.path), "sha256": file_hash(path),
                                                  "documents": len(loaded), "augment": source.augment}))
    if docs is not None and not replaced:
        out.insert(0, Source(list(docs), 1.0, {"path": TRAIN_DOCS_SOURCE, "sha256": docs_hash(docs),
                                               "documents": len(docs), "augment": True}))
    return out


def load_intermediate(config: TrainConfig) -> tuple[list[Document], dict] | None:
    stage = config.data.intermediate
    if stage is None:
        return None
    path = resolve_path(stage.path)
    if not path.exists():
        raise ConfigError(f"data.intermediate.path {stage.path} does not exist")
    from .re3d import load_re3d_documents

    docs = load_re3d_documents(path)
    return docs, {"path": str(stage.path), "sha256": docs_hash(docs), "documents": len(docs)}


def check_inputs(config: TrainConfig, docs: list[Document] | None = None) -> Inputs:
    """Everything that can be wrong with the inputs fails here, before a model is built."""
    from transformers import AutoConfig

    from .augment import load_gazetteer
    from .corpus import load_export
    from .encoders import resolve_base_model
    from .modeling import check_max_length

    base = resolve_base_model(config.base_model)
    try:
        check_max_length(config.data.max_length, AutoConfig.from_pretrained(base, local_files_only=Path(base).exists()),
                         "data.max_length")
    except OSError as e:
        raise ConfigError(f"cannot read the config of base model {base!r}: {e}") from None
    sources = load_sources(config, docs)
    if not any(s.docs for s in sources):
        raise ConfigError("the training sources hold no documents")
    dc = config.data
    check_docs = load_export(resolve_path(dc.eval)) if dc.eval else list(sources[0].docs)
    inputs = Inputs(base, sources, load_intermediate(config), check_docs)
    if config.augment.enabled and config.augment.substitution:
        # built from the training documents only: a scored fold's names never enter its training data
        gazetteer_file = resolve_path(config.augment.gazetteer) if config.augment.gazetteer else None
        inputs.gazetteer = load_gazetteer(gazetteer_file, [d for s in sources for d in s.docs])
    return inputs


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def docs_hash(docs: list[Document]) -> str:
    h = hashlib.sha256()
    for d in docs:
        h.update(json.dumps([d.doc_id, d.text, [(s.start, s.end, s.label) for s in d.sorted_spans()],
                             sorted((r.head, r.tail, r.label) for r in d.relations)]).encode())
    return h.hexdigest()


def text_hashes(docs: list[Document]) -> list[str]:
    """Per-document text hashes: the report's "was this article trained on?" check compares these."""
    return sorted({hashlib.sha256(d.text.encode("utf-8")).hexdigest() for d in docs})


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO_ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


# ------------------------------------------------------------------ 2. model and data


def build_model(config: TrainConfig, inputs: Inputs):
    from .grouping import N_FEATURES
    from .modeling import EventHead, JointModel, RelationHead, add_lora, build_tagger, load_tokenizer

    tokenizer = load_tokenizer(inputs.base)
    tagger = build_tagger(inputs.base)
    hidden = tagger.config.hidden_size
    if config.training.freeze_embeddings:
        tagger.get_input_embeddings().weight.requires_grad_(False)
    if config.training.lora is not None:
        lora = config.training.lora
        tagger = add_lora(tagger, lora.r, lora.alpha, lora.dropout)
    mc = config.model
    model = JointModel(tagger, RelationHead(hidden, mc.label_dim, mc.hidden_dim, mc.dropout),
                       EventHead(hidden, N_FEATURES, config.training.event_head.hidden_dim, mc.dropout))
    return model, tokenizer


def training_windows(config: TrainConfig, inputs: Inputs, tokenizer):
    """One windows dataset per source (its documents and their augmented copies)."""
    from .augment import augment_documents

    dc, out = config.data, []
    for source in inputs.sources:
        augmented = config.augment.enabled and source.provenance["augment"]
        extra = augment_documents(source.docs, config.augment, inputs.gazetteer) if augmented else []
        out.append(build_dataset(source.docs + extra, tokenizer, dc.max_length, dc.stride))
        source.provenance.update(augmented_documents=len(extra), windows=len(out[-1]))
    return out


def sampled_indices(sizes: list[int], weights: list[float], count: int, seed: int) -> list[int]:
    """`count` indices into the concatenation of datasets of `sizes`: each draw picks a source by weight,
    then that source's next window in a reshuffled pass, so every window is seen before any repeats."""
    rng = random.Random(seed)
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    live = [i for i, n in enumerate(sizes) if n]
    orders = {i: [] for i in live}
    out = []
    for source in rng.choices(live, weights=[weights[i] for i in live], k=count):
        if not orders[source]:
            orders[source] = rng.sample(range(sizes[source]), sizes[source])
        out.append(offsets[source] + orders[source].pop())
    return out


def step_loader(datasets_list, weights: list[float], steps: int, batch_size: int, seed: int, pad_id: int):
    import datasets
    from torch.utils.data import DataLoader

    data = datasets.concatenate_datasets(datasets_list) if len(datasets_list) > 1 else datasets_list[0]
    indices = sampled_indices([len(d) for d in datasets_list], weights, steps * batch_size, seed)
    return DataLoader(data, batch_size=batch_size, sampler=indices, collate_fn=lambda rows: collate(rows, pad_id))


# ------------------------------------------------------------------ 3. fitting


def joint_loss(logits, rel_logits, batch, tag_weights, rel_weights, relation_weight: float):
    """Class-weighted (O and none down-weighted) means of the two cross-entropies."""
    import torch
    import torch.nn.functional as F

    labels = batch["labels"].flatten()
    ce = F.cross_entropy(logits.float().flatten(0, 1), labels, weight=tag_weights, reduction="sum", ignore_index=IGNORE)
    tag_loss = ce / tag_weights[labels.clamp(min=0)][labels != IGNORE].sum().clamp(min=1e-6)
    rel_loss = logits.new_zeros((), dtype=torch.float)
    parts = [(r, p[:, 2]) for r, p in zip(rel_logits, batch["pairs"]) if r is not None]
    if parts:
        y = torch.cat([y for _, y in parts])
        rel_loss = F.cross_entropy(torch.cat([r for r, _ in parts]), y, weight=rel_weights, reduction="sum")
        rel_loss = rel_loss / rel_weights[y].sum().clamp(min=1e-6)
    return tag_loss + relation_weight * rel_loss, tag_loss.detach(), rel_loss.detach()


@dataclass
class Run:
    """The state a training run shares between its stages."""

    config: TrainConfig
    accelerator: object
    out_dir: Path
    log_file: object | None
    history: list = field(default_factory=list)
    step: int = 0


def _param_groups(model, config: TrainConfig):
    tc = config.training
    encoder = {id(p) for p in model.tagger.base_model.parameters()} - {id(p) for p in _classifier_params(model)}
    lr = tc.lr
    return [
        {"params": [p for p in model.parameters() if id(p) in encoder and p.requires_grad], "lr": lr},
        {"params": [p for p in model.parameters() if id(p) not in encoder and p.requires_grad
                    and not _in_event_head(model, p)], "lr": tc.head_lr or lr},
    ]


def _classifier_params(model):
    return [p for n, p in model.tagger.named_parameters() if "classifier" in n]


def _in_event_head(model, p) -> bool:
    return model.event_head is not None and any(p is q for q in model.event_head.parameters())


def fit(run: Run, model, loader, steps: int, name: str, relation_weight: float, tokenizer, check_docs) -> object:
    """`steps` optimizer steps of the joint loss (relation_weight 0: the tagger alone)."""
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    tc, acc = run.config.training, run.accelerator
    optimizer = torch.optim.AdamW(_param_groups(model, run.config), weight_decay=tc.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(tc.warmup_ratio * steps), steps)
    tag_w = torch.ones(len(LABEL2ID), device=acc.device)
    tag_w[LABEL2ID["O"]] = tc.o_weight
    rel_w = torch.ones(len(REL2ID), device=acc.device)
    rel_w[REL2ID["none"]] = tc.none_weight
    prepared, optimizer, loader, scheduler = acc.prepare(model, optimizer, loader, scheduler)
    # with N processes each runs its 1/N of the batches: its last one (not `steps`) cues the final check
    steps = min(steps, len(loader))
    prepared.train()
    bar = tqdm(total=steps, desc=name, disable=not acc.is_local_main_process)
    for n, batch in enumerate(loader, 1):
        with acc.accumulate(prepared):
            logits, rel = prepared(batch["input_ids"], batch["attention_mask"], batch["spans"], batch["pairs"])
            loss, tag_loss, rel_loss = joint_loss(logits, rel, batch, tag_w, rel_w, relation_weight)
            acc.backward(loss)
            if acc.sync_gradients:
                acc.clip_grad_norm_(prepared.parameters(), tc.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        run.step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        record = {"stage": name, "step": run.step, "loss": round(loss.item(), 5), "tag_loss": round(tag_loss.item(), 5),
                  "relation_loss": round(rel_loss.item(), 5), "lr": scheduler.get_last_lr()[0]}
        if name == "joint" and acc.is_main_process and (n == steps or tc.check_every and n % tc.check_every == 0):
            record["check"] = fit_check(_extractor(acc.unwrap_model(prepared), tokenizer, run), check_docs)
            bar.write(f"step {n}: span F1 {record['check']['spans']['f1']:.3f}, relation F1 (gold spans) "
                      f"{record['check']['relations_given_gold_spans']['f1']:.3f}")
            prepared.train()
        run.history.append(record)
        if run.log_file:
            run.log_file.write(json.dumps(record) + "\n")
        if n >= steps:
            break
    bar.close()
    if run.log_file:
        run.log_file.flush()
    return acc.unwrap_model(prepared)


def _extractor(model, tokenizer, run: Run):
    from .predict import Extractor

    dc = run.config.data
    return Extractor(model, tokenizer, max_length=dc.max_length, stride=dc.stride, device=run.accelerator.device,
                     grouping="prior")


def fit_check(extractor, docs: list[Document]) -> dict:
    """How well the model fits `docs`: exact char-span P/R/F1 of the tagger, and relation P/R/F1 given
    gold spans (role links; the fit of the training data, not an estimate of accuracy)."""
    from .scoring import count_multiset, prf

    tdocs = [tokenize_document(d.text, extractor.tokenizer) for d in docs]
    was_training = extractor.model.training
    extractor.model.eval()
    predicted = extractor.run(tdocs, relations=False)
    given_gold = extractor.run(tdocs, gold_spans=[d.spans for d in docs])
    extractor.model.train(was_training)
    spans, rels, per_label = [0, 0, 0], [0, 0, 0], {label: [0, 0, 0] for label in SPAN_LABELS}
    for doc, (pred_spans, _), (_, pred_rels) in zip(docs, predicted, given_gold):
        gold = [(s.start, s.end, s.label) for s in doc.spans]
        pred = [(s.start, s.end, s.label) for s in pred_spans]
        for k, v in enumerate(count_multiset(gold, pred)):
            spans[k] += v
        for label in SPAN_LABELS:
            for k, v in enumerate(count_multiset([g for g in gold if g[2] == label], [p for p in pred if p[2] == label])):
                per_label[label][k] += v
        roles = lambda rs: [(r.head, r.tail, r.label) for r in rs if r.label != "same_event"]  # noqa: E731
        for k, v in enumerate(count_multiset(roles(doc.relations), roles(pred_rels))):
            rels[k] += v
    rounded = lambda c: {k: round(v, 4) for k, v in prf(*c).items() if k != "support"}  # noqa: E731
    return {"spans": rounded(spans), "relations_given_gold_spans": rounded(rels),
            "span_labels": {label: rounded(c) for label, c in per_label.items() if any(c)}}


def fit_event_head(run: Run, model, tokenizer, docs: list[Document]) -> dict:
    """Train the event head on every same-type mention pair of the training documents, from the trained
    encoder's (frozen) mention encodings and the gold's own arguments."""
    import torch
    import torch.nn.functional as F

    from .grouping import candidate_pairs, gold_pair_labels, mention_contexts, pair_features, triggers_of

    cfg = run.config.training.event_head
    extractor = _extractor(model, tokenizer, run)
    rows = []
    model.eval()
    for doc in docs:
        contexts = mention_contexts(doc, triggers_of(doc))
        pairs = candidate_pairs(contexts)
        if not pairs:
            continue
        reps = mention_encodings(extractor, doc, [c.span for c in contexts])
        for (i, j), label in zip(pairs, gold_pair_labels(doc, contexts, pairs)):
            rows.append((reps[i], reps[j], contexts[i].sentence - contexts[j].sentence,
                         pair_features(contexts[i], contexts[j]), label))
    head = model.event_head
    if not rows:
        return {"pairs": 0}
    device = next(head.parameters()).device
    later = torch.stack([r[0] for r in rows]).to(device)
    earlier = torch.stack([r[1] for r in rows]).to(device)
    sentences = torch.tensor([r[2] for r in rows], device=device)
    features = torch.tensor([r[3] for r in rows], device=device)
    labels = torch.tensor([float(r[4]) for r in rows], device=device)
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(run.config.training.seed)
    head.train()
    for _ in range(cfg.epochs):
        for batch in torch.randperm(len(rows), generator=generator).split(256):
            logits = head(later[batch], earlier[batch], sentences[batch], features[batch])
            # unweighted: the clustering reads the probabilities, so they must keep the data's own prior
            loss = F.binary_cross_entropy_with_logits(logits, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    head.eval()
    with torch.no_grad():
        accuracy = ((head(later, earlier, sentences, features) > 0).float() == labels).float().mean().item()
    return {"pairs": len(rows), "positive_share": round(float(labels.mean()), 4), "fit_accuracy": round(accuracy, 4)}


def mention_encodings(extractor, doc: Document, mentions) -> list:
    """Each mention's pooled encoding, from the window where it has most context (as at inference)."""
    import torch

    from .data import SPAN2ID
    from .modeling import pool_spans

    tdoc = tokenize_document(doc.text, extractor.tokenizer)
    encoded = extractor._encode([tdoc], 8)
    best: dict[str, tuple[int, object]] = {}
    with torch.no_grad():
        for window, hidden in encoded["hidden"][0]:
            inside = extractor._inside(tdoc, mentions, window)
            if not inside:
                continue
            pooled = pool_spans(hidden, torch.tensor([[a, b, SPAN2ID[s.label]] for s, (a, b), _ in inside]))
            for n, (s, _, centrality) in enumerate(inside):
                if s.id not in best or centrality > best[s.id][0]:
                    best[s.id] = (centrality, pooled[n].float().cpu())
    zero = torch.zeros(extractor.model.tagger.config.hidden_size)
    return [best[m.id][1] if m.id in best else zero for m in mentions]


# ------------------------------------------------------------------ 4. the run


def start_run(config: TrainConfig, out_dir: Path) -> Run:
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed

    tc = config.training
    if tc.threads:
        torch.set_num_threads(tc.threads)
    mixed = tc.mixed_precision
    if mixed == "auto":
        mixed = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if torch.cuda.is_available() else "no"
    # under torchrun / `accelerate launch` without CUDA, Accelerator() would make every process its own
    # rank 0 (N separate trainings racing on one folder): cpu=True joins them in one gloo process group
    distributed_cpu = not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1
    # the event head is trained later, outside DDP, and the relation head sits out batches without
    # candidate pairs: DDP must not wait for gradients those parameters never get
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    accelerator = Accelerator(mixed_precision=mixed, gradient_accumulation_steps=tc.grad_accum, cpu=distributed_cpu,
                              kwargs_handlers=[ddp])
    set_seed(tc.seed)
    if accelerator.is_main_process:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
        shutil.rmtree(out_dir, ignore_errors=True)
    accelerator.wait_for_everyone()
    out_dir.mkdir(parents=True, exist_ok=True)
    log_file = open(out_dir / "train_log.jsonl", "w", encoding="utf-8") if accelerator.is_main_process else None
    return Run(config, accelerator, out_dir, log_file)


def train(config: TrainConfig, out_dir: Path | str, *, docs: list[Document] | None = None) -> Path:
    """Train the joint model and save it to `out_dir` (a `models/NAME/` folder). Every input is
    validated (sources, intermediate corpus, base model, max_length) before the first step. The model
    is written to a sibling work folder and swapped in when complete: a failed run keeps the old one."""
    started = time.time()
    final_dir = Path(out_dir)
    inputs = check_inputs(config, docs)
    run = start_run(config, final_dir.parent / f".{final_dir.name}.partial")
    tc, dc, acc = config.training, config.data, run.accelerator
    model, tokenizer = build_model(config, inputs)
    pad_id = tokenizer.pad_token_id or 0
    if inputs.intermediate is not None:
        stage = build_dataset(inputs.intermediate[0], tokenizer, dc.max_length, dc.stride, with_relations=False)
        loader = step_loader([stage], [1.0], dc.intermediate.steps, tc.batch_size, tc.seed, pad_id)
        model = fit(run, model, loader, dc.intermediate.steps, "intermediate", 0.0, tokenizer, inputs.check_docs)
    windows = training_windows(config, inputs, tokenizer)
    loader = step_loader(windows, [s.weight for s in inputs.sources], tc.max_steps, tc.batch_size, tc.seed + 1, pad_id)
    model = fit(run, model, loader, tc.max_steps, "joint", tc.relation_weight, tokenizer, inputs.check_docs)
    acc.wait_for_everyone()
    if acc.is_main_process:
        model = acc.unwrap_model(model).float()
        events = fit_event_head(run, model, tokenizer, [d for s in inputs.sources for d in s.docs])
        log.info("event head: %s", events)
        save(run, model, tokenizer, inputs, events, started, final_dir.name)
        if run.log_file:
            run.log_file.close()
        replace_dir(run.out_dir, final_dir)
        log.info("saved %s in %.1f s", final_dir, time.time() - started)
    acc.wait_for_everyone()
    return final_dir


def save(run: Run, model, tokenizer, inputs: Inputs, events: dict, started: float, name: str) -> None:
    import torch

    from .lexicon import Lexicon
    from .modeling import save_model, write_manifest

    config, out_dir = run.config, run.out_dir
    save_model(model, tokenizer, out_dir, config.base_model)
    Lexicon.from_documents([d for s in inputs.sources for d in s.docs]).save(out_dir)
    (out_dir / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")
    final = next((h["check"] for h in reversed(run.history) if "check" in h), None)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    info = {
        "git_commit": git_commit(),
        "base_model": config.base_model,
        "base_model_resolved": inputs.base,
        "format": "lora" if config.training.lora else "full",
        "trainable_parameters": trainable,
        "data": {"sources": [{**s.provenance, "weight": s.weight} for s in inputs.sources],
                 "intermediate": inputs.intermediate[1] if inputs.intermediate else None,
                 "check": str(config.data.eval) if config.data.eval else "training gold (no held-out file)",
                 "text_sha256": text_hashes([d for s in inputs.sources for d in s.docs])},
        "metrics": {"final": final, "event_head": events},
        "steps": run.step,
        "time": {"train_seconds": round(time.time() - started, 1), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")},
        "environment": {"torch": torch.__version__, "python": platform.python_version(),
                        "device": str(run.accelerator.device), "mixed_precision": run.accelerator.mixed_precision,
                        "processes": run.accelerator.num_processes, "threads": torch.get_num_threads(),
                        "cuda_peak_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20)
                        if torch.cuda.is_available() else None},
    }
    (out_dir / "training.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(model_card(config, info, name), encoding="utf-8")
    write_manifest(out_dir, config.base_model, lora=config.training.lora is not None)


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
    sources = "\n".join(f"- `{s['path']}` ({s.get('documents', '?')} documents, sampling weight {s['weight']}, "
                        f"sha256 `{s['sha256'][:16]}…`)" for s in info["data"]["sources"])
    lora = config.training.lora
    tagger = (f"LoRA adapters (r = {lora.r}, alpha {lora.alpha}, every linear layer of the encoder) and the "
              f"classifier in `tagger/adapter_model.safetensors` (fp16), merged into the packaged base encoder "
              f"`{config.base_model}` at load" if lora else
              "a stock `AutoModelForTokenClassification` checkpoint in `tagger/`")
    return f"""# clashwatch model `{name}`

Armed border clash events from English news (annotation spec v1.1): spans, relations and event records.

- **Tagger**: {tagger}; IOB2 over the 9 span labels, label map in `tagger/config.json`, decoded by a
  constrained Viterbi (`clashwatch.decoding`); places and names put as the guidelines have them
  (`clashwatch.places`) with `lexicon.json`, the demonyms and names with "and" of the training documents.
- **Relation head**: `relation_head.safetensors` + `relation_config.json`, SpERT-style over the tagger's
  encoder, classes none + the 9 relation labels, masked to the pairs the spec allows.
- **Event head**: `event_head.safetensors` + `event_config.json`, scores pairs of trigger mentions anywhere in
  the document; `clashwatch.grouping` clusters them into events (by default the one-event-per-type prior,
  split where a mention's sentence names another year, or where a linked time or place conflicts and the
  event head agrees).
- **Base encoder**: `{config.base_model}`; windows of {config.data.max_length} tokens, stride {config.data.stride};
  {info['trainable_parameters']:,} trained parameters.
- **Files**: `manifest.json` lists every file with its sha256, checked at load.
- **Load**: `clashwatch.Extractor.load("models/{name}")` (local files only).

## Training data
{sources}

{info['steps']} optimizer steps ({config.training.max_steps} joint, batch {config.training.batch_size}).

## Fit on the training gold (not an estimate of accuracy)
| | precision | recall | F1 |
|---|---|---|---|
| spans (exact char) | {spans.get('precision', '-')} | {spans.get('recall', '-')} | {spans.get('f1', '-')} |
| role relations given gold spans | {rels.get('precision', '-')} | {rels.get('recall', '-')} | {rels.get('f1', '-')} |

Held-out numbers come from the cross-validation (`clashwatch crossval`, `eval/reports/`).

## Provenance
git commit `{info['git_commit']}`, trained in {info['time']['train_seconds']} s on {info['environment']['device']}
(mixed precision: {info['environment']['mixed_precision']}), {info['time']['finished']}. Config: `config.yaml`.

## Limits
Trained on five real articles of Kyrgyz–Tajik border news and invented synthetic articles: expect misses
on unseen phrasings and other conflicts; every field points back to its characters, check them.
"""
