"""The fast CPU runtime: the tagger's encoder under ONNX Runtime, optionally int8-quantised.

`OnnxJointModel` stands in for `modeling.JointModel` at inference: `.encode(input_ids, attention_mask)`
returns (tag logits, last hidden state) from one ONNX Runtime call, and `.relation_head` is the
trained torch head, run on the hidden states of the candidate pairs only. The exported graph is
cached in the model folder (`onnx/`), made on first use and written atomically, and keyed on the
tagger's weights so a retrained model never meets a stale export."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from .schema import ClashwatchError

RUNTIMES = ("torch", "onnx")
OPSET = 17


class RuntimeUnavailableError(ClashwatchError, RuntimeError):
    """The requested runtime cannot be built here (missing package, failed export)."""


def physical_cores() -> int:
    """Cores, not hyper-threads: ONNX Runtime's matmuls gain nothing from a sibling thread."""
    try:
        import psutil

        n = psutil.cpu_count(logical=False)
    except ImportError:
        n = None
    n = n or os.cpu_count() or 1
    return max(1, min(n, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else n))


def _weights_key(tagger_dir: Path) -> str:
    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin", "adapter_model.safetensors"):
        f = tagger_dir / name
        if f.exists():
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    import onnxruntime

    h.update(f"opset{OPSET}|ort{onnxruntime.__version__}".encode())
    return h.hexdigest()[:16]


class _Encoder(torch.nn.Module):
    def __init__(self, tagger):
        super().__init__()
        self.tagger = tagger

    def forward(self, input_ids, attention_mask):
        out = self.tagger(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out.logits, out.hidden_states[-1]


def _export_fp32(tagger, out: Path) -> None:
    """Trace the tagger (eager attention: the fused-SDPA path does not trace) and fuse the graph with
    ONNX Runtime's transformer optimizer (attention, layer norm, GELU)."""
    cfg = tagger.config
    previous = getattr(cfg, "_attn_implementation", None)
    try:
        cfg._attn_implementation = "eager"
        ids = torch.ones((2, 16), dtype=torch.long)
        mask = torch.ones_like(ids)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter: the traced mask logic holds for any shape
            torch.onnx.export(
                _Encoder(tagger).eval(), (ids, mask), str(out), input_names=["input_ids", "attention_mask"],
                output_names=["logits", "hidden"], opset_version=OPSET, dynamo=False,
                dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "logits", "hidden")},
            )
    finally:
        cfg._attn_implementation = previous
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        heads, hidden = getattr(cfg, "num_attention_heads", 0), getattr(cfg, "hidden_size", 0)
        model_type = cfg.model_type if cfg.model_type in ("bert", "mpnet", "roberta", "distilbert") else "bert"
        opt = optimize_model(str(out), model_type=model_type, num_heads=heads, hidden_size=hidden, opt_level=1)
        opt.save_model_to_file(str(out))
    except Exception:  # noqa: BLE001 - the unfused graph is still correct, only slower
        pass


def _quantize(src: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the fused graph's contrib ops (Attention, SkipLayerNormalization) defeat shape inference; the
    # embeddings stay fp32 (a lookup, no matmul to speed up, and their error reaches every layer)
    quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=False,
                     op_types_to_quantize=["MatMul", "Attention"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def onnx_path(model_dir: str | Path, tagger, *, quantize: bool = False) -> Path:
    """The cached ONNX encoder of `model_dir`, exported (and quantised) on first use."""
    model_dir = Path(model_dir)
    try:
        import onnx  # noqa: F401 - the exporter and the optimizer need it
    except ImportError:
        raise RuntimeUnavailableError("runtime='onnx' needs the `onnx` package (pip install onnx)") from None
    key = _weights_key(model_dir / "tagger")
    cache = model_dir / "onnx"
    try:
        cache.mkdir(exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=cache)
        probe.close()
    except OSError:  # a read-only model folder: keep the export in the user's cache instead
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "clashwatch" / key
        cache.mkdir(parents=True, exist_ok=True)
    fp32 = cache / f"encoder-fp32-{key}.onnx"
    int8 = cache / f"encoder-int8-{key}.onnx"
    target = int8 if quantize else fp32
    if target.exists():
        return target
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        try:
            if not fp32.exists():
                _export_fp32(tagger, Path(tmp) / "fp32.onnx")
                os.replace(Path(tmp) / "fp32.onnx", fp32)
            if quantize:
                _quantize(fp32, Path(tmp) / "int8.onnx")
                os.replace(Path(tmp) / "int8.onnx", int8)
        except Exception as e:  # noqa: BLE001 - export failures differ by model and version
            raise RuntimeUnavailableError(f"could not export {model_dir} to ONNX: {type(e).__name__}: {e}") from e
    return target


def make_session(path: Path, threads: int | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads or physical_cores()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxJointModel:
    """`JointModel`'s inference surface over an ONNX Runtime session."""

    def __init__(self, session, relation_head: torch.nn.Module, event_head: torch.nn.Module | None = None,
                 quantized: bool = False):
        self.session, self.relation_head, self.quantized = session, relation_head.eval(), quantized
        self.event_head = event_head.eval() if event_head is not None else None

    @classmethod
    def from_joint(cls, model, model_dir: str | Path, *, quantize: bool = False,
                   threads: int | None = None) -> "OnnxJointModel":
        path = onnx_path(model_dir, model.tagger, quantize=quantize)
        return cls(make_session(path, threads), model.relation_head, model.event_head, quantize)

    def eval(self) -> "OnnxJointModel":
        return self

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, hidden = self.session.run(None, {
            "input_ids": input_ids.cpu().numpy().astype(np.int64, copy=False),
            "attention_mask": attention_mask.cpu().numpy().astype(np.int64, copy=False),
        })
        return torch.from_numpy(logits), torch.from_numpy(hidden)


@contextlib.contextmanager
def cpu_threads_for(model):
    """Under ONNX Runtime, torch (softmax, the small relation head) runs on one thread for the duration:
    its idle pool threads spin and took about a third of the cores from ONNX Runtime's (eval/README.md)."""
    if not isinstance(model, OnnxJointModel):
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
