"""Initial noise as Diffusers draws it: randn_tensor(shape, generator=torch.Generator("cpu").manual_seed(seed),
dtype) for the latent shapes FluxPipeline, StableDiffusion3Pipeline and PixArtSigmaPipeline.prepare_latents use,
plus sizes around torch's 16-element blocks.

torch's float32 normal kernel differs by CPU (its AVX2 kernel vs the plain one), so every case is drawn once
per kernel, in a subprocess with ATEN_CPU_CAPABILITY set. Goldens are the SHA-256 of the raw little-endian
bytes (bit identity without storing megabytes) plus the first values, for messages.
"""

import hashlib
import json
import os
import subprocess
import sys

import torch
from diffusers.utils.torch_utils import randn_tensor

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def _latent_shape(family: str, batch: int, height: int, width: int, in_channels: int) -> list[int]:
    """prepare_latents' shape with an 8x VAE (vae_scale_factor 8)."""
    if family == "flux":  # 2 * (H // 16): the 2x2 packing needs even latent sizes
        return [batch, in_channels // 4, 2 * (height // 16), 2 * (width // 16)]
    return [batch, in_channels, height // 8, width // 8]


CASES = [
    # (name, family, seed, batch, height px, width px, transformer in_channels, dtypes)
    ("flux-256x256", "flux", 0, 1, 256, 256, 64, ("f32", "bf16")),
    ("flux-192x320-b2", "flux", 42, 2, 192, 320, 64, ("f32", "bf16", "f16")),
    ("flux-seed-high-bits", "flux", 2**32 + 42, 1, 128, 128, 64, ("f32",)),
    ("sd3-256x256", "sd3", 1234567, 1, 256, 256, 16, ("f32", "bf16")),
    ("pixart-256x256", "pixart", 7, 1, 256, 256, 4, ("f32", "bf16", "f16")),
    ("pixart-136x200", "pixart", 99, 1, 136, 200, 4, ("f32",)),
]
# Element counts around the 16-element blocks: < 16 (per-element double path), 16, a tail of 5.
RAW_CASES = [("raw-15", 3, [1, 1, 3, 5]), ("raw-16", 3, [1, 4, 2, 2]), ("raw-21", 3, [1, 3, 7, 1])]


def _draw(seed: int, shape: list[int], dtype: str) -> torch.Tensor:
    generator = torch.Generator("cpu").manual_seed(seed)
    return randn_tensor(tuple(shape), generator=generator, device=torch.device("cpu"), dtype=DTYPES[dtype])


def _digest(t: torch.Tensor) -> dict:
    t = t.contiguous()
    data = t.numpy().tobytes() if t.dtype == torch.float32 else t.view(torch.int16).numpy().tobytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "first": [float(v) for v in t.flatten()[:6].float()]}


def draw_all() -> list[dict]:
    out = []
    for name, family, seed, batch, height, width, in_channels, dtypes in CASES:
        shape = _latent_shape(family, batch, height, width, in_channels)
        for dtype in dtypes:
            out.append({"name": f"{name}-{dtype}", "family": family, "seed": seed, "height": height, "width": width,
                         "batch": batch, "shape": shape, "dtype": dtype, **_digest(_draw(seed, shape, dtype))})
    for name, seed, shape in RAW_CASES:
        for dtype in DTYPES:
            out.append({"name": f"{name}-{dtype}", "family": None, "seed": seed, "shape": shape, "dtype": dtype,
                        **_digest(_draw(seed, shape, dtype))})
    return out


def noise_goldens() -> dict:
    """Runs draw_all() under each of torch's CPU kernels; the AVX2 one only where this CPU has it."""
    kernels = {"scalar": "default"}
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        kernels["avx2"] = "avx2"
    by_path = {}
    for path, capability in kernels.items():
        env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
        script = "import json, noise_fixtures; print(json.dumps(noise_fixtures.draw_all()))"
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)))
        by_path[path] = json.loads(done.stdout)
    return {
        "call": 'randn_tensor(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=...)',
        "digest": "sha256 of the raw little-endian bytes (float32, or the 16-bit patterns of bf16/f16)",
        "paths": by_path,
    }
