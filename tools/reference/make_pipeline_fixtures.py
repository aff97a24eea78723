"""Writes the prompt-to-image goldens under test/fixtures/pipeline/ from real transformers + diffusers.

Run through the reference venv:  "$(tools/reference/venv.sh)" tools/reference/make_pipeline_fixtures.py [--only PART,...]
Each part replaces only its own files, so one part can be regenerated alone:
  tokenizers   tokenizers/<name>/ (tiny tokenizer folders in the released layouts), tokenizers.json (ids)
  text-encoders  text-encoders/<name>/ (transformers folders), <name>.io.safetensors, text-encoders.json
  vae          vae/<name>/ (AutoencoderKL folders), vae/<name>-<case>.safetensors (z, sample), vae.json
  schedulers   dpm-solver.json: DPMSolverMultistepScheduler timesteps, sigmas and step trajectories
  pipelines    pipelines/<name>/ (complete tiny pipelines), pipelines/<name>-<case>.safetensors (image, latents),
               pixart-forward/denoise.safetensors, pipelines.json
  noise        noise.json: digests of randn_tensor's initial noise per pipeline shape, dtype and torch CPU kernel
"""

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))

from noise_fixtures import noise_goldens  # noqa: E402
from pipeline_fixtures import pipeline_goldens, pixart_transformer_goldens  # noqa: E402
from scheduler_fixtures import scheduler_goldens  # noqa: E402
from text_encoder_fixtures import text_encoder_fixtures  # noqa: E402
from tokenizer_fixtures import build_tokenizers, tokenizer_goldens  # noqa: E402
from vae_fixtures import vae_fixtures  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "test" / "fixtures" / "pipeline"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n")


def versions() -> dict:
    import diffusers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "diffusers": diffusers.__version__,
        "python": platform.python_version(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def make_tokenizers(out: Path) -> None:
    folder = out / "tokenizers"
    shutil.rmtree(folder, ignore_errors=True)
    folders = build_tokenizers(folder)
    goldens = tokenizer_goldens(folders, out)
    # One prompt per line keeps the diff of a regenerated golden readable.
    goldens["versions"] = versions()
    text = json.dumps({k: v for k, v in goldens.items() if k != "settings"}, indent=1, ensure_ascii=False)
    settings = ",\n".join(_setting_json(s) for s in goldens["settings"])
    (out / "tokenizers.json").write_text(text[:-2] + ',\n "settings": [\n' + settings + "\n ]\n}\n")
    _log(f"  tokenizers: {len(goldens['corpus'])} prompts x {len(goldens['settings'])} settings")


def _setting_json(setting: dict) -> str:
    head = {k: v for k, v in setting.items() if k not in ("ids", "attention")}
    ids = ",\n".join("    " + json.dumps(row) for row in setting["ids"])
    return (
        "  " + json.dumps(head, ensure_ascii=False)[:-1]
        + ', "attention": ' + json.dumps(setting["attention"])
        + ', "ids": [\n' + ids + "\n  ]}"
    )


def make_noise(out: Path) -> None:
    goldens = noise_goldens()
    goldens["versions"] = versions()
    _write_json(out / "noise.json", goldens)
    _log(f"  noise: {', '.join(f'{k}: {len(v)} cases' for k, v in goldens['paths'].items())}")


def make_text_encoders(out: Path) -> None:
    folder = out / "text-encoders"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    manifest = text_encoder_fixtures(folder, out / "tokenizers")
    manifest["versions"] = versions()
    _write_json(out / "text-encoders.json", manifest)
    for e in manifest["encoders"]:
        _log(f"  {e['name']}: f32-vs-f64 {e['f32_vs_f64_max_abs']:.2e}")


def make_vaes(out: Path) -> None:
    folder = out / "vae"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    manifest = vae_fixtures(folder)
    manifest["versions"] = versions()
    _write_json(out / "vae.json", manifest)
    for c in manifest["decodes"]:
        _log(f"  {c['vae']}/{c['case']}: max|sample| {c['sample_max_abs']:.2f}, f32-vs-f64 {c['f32_vs_f64_max_abs']:.2e}")


def make_schedulers(out: Path) -> None:
    goldens = scheduler_goldens()
    goldens["versions"] = versions()
    (out / "dpm-solver.json").write_text(json.dumps(goldens) + "\n")
    _log(f"  dpm-solver: {len(goldens['cases'])} cases")


def make_pipelines(out: Path) -> None:
    """Needs the tokenizers, text-encoders and vae parts (their folders are copied in)."""
    folder = out / "pipelines"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    manifest = pipeline_goldens(out, folder)
    manifest["pixart_transformer"] = pixart_transformer_goldens(folder)
    manifest["versions"] = versions()
    _write_json(out / "pipelines.json", manifest)
    for c in manifest["cases"]:
        _log(f"  {c['pipeline']}/{c['case']}: image {c['image_shape']}")


PARTS = {
    "schedulers": make_schedulers,
    "tokenizers": make_tokenizers,
    "noise": make_noise,
    "text-encoders": make_text_encoders,
    "vae": make_vaes,
    "pipelines": make_pipelines,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of: {', '.join(PARTS)}")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    for part in args.only.split(","):
        if part not in PARTS:
            raise SystemExit(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
        started = time.time()
        _log(f"{part} ...")
        PARTS[part](args.out)
        _log(f"  {part} done in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
