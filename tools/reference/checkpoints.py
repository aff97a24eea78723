"""Tiny Diffusers checkpoints with seeded random weights, written by Diffusers' own save_pretrained.

Every parameter is overwritten (not only what torch's default init touches) so the outputs exercise every
layer: modulation linears, the output head and q/k norm weights get non-trivial values. Each tensor's values
come from a generator seeded by (checkpoint seed, tensor name), so they do not depend on module order.
"""

import json
import math
import zlib
from pathlib import Path

import torch
from diffusers import (
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
)

from cases import Checkpoint

# Modulation (adaLN) outputs feed (1 + scale), shift and gate; a smaller gain keeps the residual stream O(1)
# through all blocks while gates stay far from zero.
MODULATION_GAIN = 0.5


def _generator(seed: int, name: str) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))


def _random_value(name: str, shape: torch.Size, gen: torch.Generator) -> torch.Tensor:
    if name.endswith("pos_embed.pos_embed"):
        raise AssertionError("the fixed sin-cos table is a buffer, not randomised")
    noise = torch.randn(shape, generator=gen, dtype=torch.float64)
    is_norm_weight = ".norm_" in name and name.endswith(".weight") and len(shape) == 1
    if is_norm_weight:  # RMSNorm scales around 1
        return 1.0 + 0.2 * noise
    if name.endswith(".bias"):
        return 0.1 * noise
    fan_in = math.prod(shape[1:])
    gain = MODULATION_GAIN if _is_modulation(name) else 1.0
    return noise * (gain / math.sqrt(fan_in))


def _is_modulation(name: str) -> bool:
    return any(part in name for part in ("norm1.linear", "norm1_context.linear", "norm.linear", "norm_out.linear"))


def randomise(model: torch.nn.Module, seed: int) -> None:
    with torch.no_grad():
        for name, param in model.named_parameters():
            value = _random_value(name, param.shape, _generator(seed, name))
            param.copy_(value.to(param.dtype))


def build_transformer(ckpt: Checkpoint) -> torch.nn.Module:
    cls = FluxTransformer2DModel if ckpt.family == "flux" else SD3Transformer2DModel
    model = cls(**ckpt.config)
    randomise(model, ckpt.seed)
    if ckpt.dtype == "bfloat16":
        # Round the weights to BF16 once; the goldens then run in F32 on exactly these values.
        model = model.to(torch.bfloat16)
    return model.eval()


def build_scheduler(ckpt: Checkpoint) -> FlowMatchEulerDiscreteScheduler:
    return FlowMatchEulerDiscreteScheduler(**ckpt.scheduler)


def save_checkpoint(ckpt: Checkpoint, transformer: torch.nn.Module, folder: Path) -> None:
    """Writes model_index.json, scheduler/ and transformer/ exactly as Diffusers lays a model repo out."""
    pipe = pipeline_for(ckpt, transformer)
    kwargs = {"safe_serialization": True}
    if ckpt.max_shard_size is not None:
        kwargs["max_shard_size"] = ckpt.max_shard_size
    pipe.save_pretrained(folder, **kwargs)
    _check_layout(ckpt, folder)


def pipeline_for(ckpt: Checkpoint, transformer: torch.nn.Module):
    """The real Diffusers pipeline around the F32 transformer (text encoders and VAE absent)."""
    scheduler = build_scheduler(ckpt)
    if ckpt.family == "flux":
        return FluxPipeline(
            scheduler=scheduler,
            vae=None,
            text_encoder=None,
            tokenizer=None,
            text_encoder_2=None,
            tokenizer_2=None,
            transformer=transformer,
        )
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=scheduler,
        vae=None,
        text_encoder=None,
        tokenizer=None,
        text_encoder_2=None,
        tokenizer_2=None,
        text_encoder_3=None,
        tokenizer_3=None,
    )


def _check_layout(ckpt: Checkpoint, folder: Path) -> None:
    transformer_dir = folder / "transformer"
    index = transformer_dir / "diffusion_pytorch_model.safetensors.index.json"
    single = transformer_dir / "diffusion_pytorch_model.safetensors"
    if ckpt.max_shard_size is not None:
        if not index.exists() or single.exists():
            raise AssertionError(f"{ckpt.name}: expected a sharded transformer with an index in {transformer_dir}")
        shards = set(json.loads(index.read_text())["weight_map"].values())
        if len(shards) < 2:
            raise AssertionError(f"{ckpt.name}: max_shard_size {ckpt.max_shard_size} gave {len(shards)} shard(s)")
    elif not single.exists() or index.exists():
        raise AssertionError(f"{ckpt.name}: expected one diffusion_pytorch_model.safetensors in {transformer_dir}")
