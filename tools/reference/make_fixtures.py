"""Writes the golden fixtures under test/fixtures/reference/ from real PyTorch + diffusers.

Run through the reference venv (see README.md):  "$(tools/reference/venv.sh)" tools/reference/make_fixtures.py
Layout:
  manifest.json                      versions, every checkpoint and case with shapes and tolerances
  sigmas.json                        FlowMatchEulerDiscreteScheduler tables
  defaults.json                      constructor defaults of the transformer and scheduler classes
  full-size-manifests.json           tensor count + hash of names/shapes of the released Flux/SD3 transformers
  <checkpoint>/checkpoint/...        a Diffusers model folder (model_index.json, scheduler/, transformer/)
  <checkpoint>/forward-<case>.safetensors, <checkpoint>/denoise-<case>.safetensors
"""

import argparse
import inspect
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import diffusers
import numpy
import safetensors
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import CHECKPOINTS, Checkpoint, sigma_cases  # noqa: E402
from checkpoints import build_transformer, pipeline_for, save_checkpoint  # noqa: E402
from full_size import full_size_manifests  # noqa: E402
from runs import denoise_fixture, forward_fixture  # noqa: E402
from sigmas import sigma_table  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "test" / "fixtures" / "reference"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _load_f32(ckpt: Checkpoint, folder: Path) -> torch.nn.Module:
    """The goldens run on the weights as loaded back from disk, so the files and the outputs cannot drift."""
    cls = diffusers.FluxTransformer2DModel if ckpt.family == "flux" else diffusers.SD3Transformer2DModel
    return cls.from_pretrained(folder / "transformer", torch_dtype=torch.float32).eval()


def _write_case(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}, str(path))


def make_checkpoint(ckpt: Checkpoint, out: Path, seed_base: int) -> dict:
    root = out / ckpt.name
    folder = root / "checkpoint"
    save_checkpoint(ckpt, build_transformer(ckpt), folder)
    model = _load_f32(ckpt, folder)
    entry = {
        "name": ckpt.name,
        "family": ckpt.family,
        "description": ckpt.description,
        "checkpoint": f"{ckpt.name}/checkpoint",
        "weights_dtype": ckpt.dtype,
        "sharded": ckpt.max_shard_size is not None,
        "config": ckpt.config,
        "scheduler": ckpt.scheduler,
        "tensor_count": len(model.state_dict()),
        "cases": [],
    }
    for i, case in enumerate(ckpt.forwards):
        tensors, meta = forward_fixture(ckpt, model, case, seed_base + ckpt.seed * 10 + i)
        file = f"forward-{case.name}.safetensors"
        _write_case(root / file, tensors)
        entry["cases"].append({"file": f"{ckpt.name}/{file}", **meta})
        _log(f"  {ckpt.name}/{file}: max|out| {meta['sample_max_abs']:.3f}, f32-vs-f64 {meta['f32_vs_f64_max_abs']:.2e}")
    for i, case in enumerate(ckpt.denoises):
        tensors, meta = denoise_fixture(
            ckpt, model, case, seed_base + ckpt.seed * 10 + 5 + i, lambda m: pipeline_for(ckpt, m)
        )
        file = f"denoise-{case.name}.safetensors"
        _write_case(root / file, tensors)
        entry["cases"].append({"file": f"{ckpt.name}/{file}", **meta})
        _log(f"  {ckpt.name}/{file}: max|out| {meta['output_max_abs']:.3f}, f32-vs-f64 {meta['f32_vs_f64_max_abs']:.2e}")
    return entry


def constructor_defaults() -> dict:
    """Diffusers' __init__ defaults: what a config.json that omits a key means (register_to_config semantics)."""
    classes = {
        "FluxTransformer2DModel": diffusers.FluxTransformer2DModel,
        "SD3Transformer2DModel": diffusers.SD3Transformer2DModel,
        "FlowMatchEulerDiscreteScheduler": diffusers.FlowMatchEulerDiscreteScheduler,
    }
    out = {}
    for name, cls in classes.items():
        params = inspect.signature(cls.__init__).parameters.values()
        out[name] = {
            p.name: list(p.default) if isinstance(p.default, tuple) else p.default
            for p in params
            if p.name != "self" and p.default is not inspect.Parameter.empty
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture folder (replaced)")
    parser.add_argument("--seed", type=int, default=7, help="base seed for inputs")
    args = parser.parse_args()

    started = time.time()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # thread count can change reduction order; one thread keeps reruns identical
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)

    checkpoints = []
    for ckpt in CHECKPOINTS:
        _log(f"checkpoint {ckpt.name}")
        checkpoints.append(make_checkpoint(ckpt, args.out, args.seed))

    tables = [sigma_table(case) for case in sigma_cases()]
    (args.out / "sigmas.json").write_text(json.dumps({"tables": tables}, indent=1) + "\n")

    (args.out / "full-size-manifests.json").write_text(json.dumps(full_size_manifests(), indent=1) + "\n")
    (args.out / "defaults.json").write_text(json.dumps(constructor_defaults(), indent=1) + "\n")

    manifest = {
        "generator": "tools/reference/make_fixtures.py",
        "versions": {
            "torch": torch.__version__,
            "diffusers": diffusers.__version__,
            "safetensors": safetensors.__version__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
        },
        "dtype": "all case tensors are float32; ids are float32 as Diffusers passes them",
        "tolerance_rule": "atol = max(1e-5, 20 x the measured max |F32 - F64| of the same torch run); rtol 1e-4",
        "sigmas": "sigmas.json",
        "defaults": "defaults.json",
        "full_size_manifests": "full-size-manifests.json",
        "checkpoints": checkpoints,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    _log(f"wrote {args.out} ({total / 1e6:.2f} MB) in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
