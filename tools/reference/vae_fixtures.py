"""Tiny AutoencoderKL checkpoints (real Diffusers names and layout) and what their decoder returns.

  vae-16ch   FLUX/SD3-like: 16 latent channels, no quant convs, scaling/shift factors of FLUX.1
  vae-4ch    the SD/SDXL VAE PixArt-Σ uses: 4 latent channels, quant_conv and post_quant_conv, no shift
Both have 4 blocks (an 8x VAE, as released) with 2 resnets each, GroupNorm of 4 groups and the mid-block
attention. Goldens: `vae.decode(z).sample` for random z, in F32 (and F64 for the noise floor).
"""

import copy
import math
import zlib
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from safetensors.torch import save_file

VAE_BASE = dict(
    in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
    up_block_types=["UpDecoderBlock2D"] * 4, block_out_channels=[8, 8, 16, 16], layers_per_block=1,
    norm_num_groups=4, sample_size=64,
)
VAES = {
    "vae-16ch": dict(VAE_BASE, latent_channels=16, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False,
                     use_post_quant_conv=False),
    "vae-4ch": dict(VAE_BASE, latent_channels=4, scaling_factor=0.13025),
}
SEEDS = {"vae-16ch": 401, "vae-4ch": 402}
# (vae, case, z shape)
DECODES = [
    ("vae-16ch", "square-b1", [1, 16, 8, 8]),
    ("vae-16ch", "nonsquare-b2", [2, 16, 6, 10]),
    ("vae-4ch", "square-b1", [1, 4, 8, 8]),
    ("vae-4ch", "nonsquare-b1", [1, 4, 10, 6]),
]


def randomise_vae(model: torch.nn.Module, seed: int) -> None:
    """Convolutions and linears N(0, 1/fan_in), norm weights 1 + 0.1·N, biases 0.1·N."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            gen = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float64)
            if name.endswith(".bias"):
                value = 0.1 * noise
            elif param.dim() == 1:
                value = 1.0 + 0.1 * noise
            else:
                value = noise / math.sqrt(math.prod(param.shape[1:]))
            param.copy_(value.to(param.dtype))


def build_vae(name: str) -> AutoencoderKL:
    vae = AutoencoderKL(**VAES[name])
    randomise_vae(vae, SEEDS[name])
    return vae.eval()


def vae_fixtures(out: Path) -> dict:
    loaded = {}
    for name in VAES:
        build_vae(name).save_pretrained(out / name)
        loaded[name] = AutoencoderKL.from_pretrained(out / name, torch_dtype=torch.float32).eval()
    cases = []
    for i, (name, case, shape) in enumerate(DECODES):
        z = torch.randn(shape, generator=torch.Generator().manual_seed(500 + i), dtype=torch.float32)
        with torch.no_grad():
            sample = loaded[name].decode(z).sample
            sample64 = copy.deepcopy(loaded[name]).double().decode(z.double()).sample
        floor = float((sample.double() - sample64).abs().max())
        file = f"{name}-{case}.safetensors"
        save_file({"z": z, "sample": sample.contiguous()}, str(out / file))
        cases.append({"vae": name, "case": case, "file": file, "z": shape, "sample": list(sample.shape),
                      "sample_max_abs": float(sample.abs().max()), "f32_vs_f64_max_abs": floor,
                      "tolerance": {"atol": max(1e-5, 20 * floor), "rtol": 1e-4}})
    return {"vaes": {name: {"folder": name, "config": VAES[name]} for name in VAES}, "decodes": cases,
            "call": "AutoencoderKL.from_pretrained(folder).decode(z).sample"}
