"""The reference side of the GPU step benchmark (bench/gpu-step.ts): diffusers' FluxTransformer2DModel at
FLUX.1-dev width in bf16 eager on the GPU, timed the way the Tessera side is timed: wall clock around the
call with the GPU synchronised before and after, so launch overhead counts on both sides.

Same shape as the Tessera side: hidden 3072 (24 heads x 128), joint_attention_dim 4096, pooled 768,
in_channels 64, guidance embedding, DOUBLE double blocks and SINGLE single blocks, IMAGE_TOKENS image and
TEXT_TOKENS text tokens, batch 1, random weights (the model's own initialisation) and random inputs.

Prints one JSON line: the median ms of a whole step (no synchronisation inside), and the median ms of
each block kind measured in a separate pass that synchronises around every block (forward hooks).

Usage: python3 tools/gpu/diffusers_flux_step.py DOUBLE SINGLE IMAGE_TOKENS TEXT_TOKENS WARMUP RUNS
"""

import json
import statistics
import sys
import time

import torch
from diffusers import FluxTransformer2DModel


def main() -> None:
    if len(sys.argv) != 7:
        raise SystemExit(__doc__)
    double, single, image_tokens, text_tokens, warmup, runs = (int(v) for v in sys.argv[1:7])
    if not torch.cuda.is_available():
        raise SystemExit("diffusers_flux_step: torch sees no CUDA device")
    torch.manual_seed(0)
    device = torch.device("cuda")
    started = time.perf_counter()
    # Built under the device's context: the random initialisation runs on the GPU (seconds on the CPU
    # for 1.3 B parameters in f32 would come out of the run's time budget).
    with device:
        model = FluxTransformer2DModel(
            patch_size=1,
            in_channels=64,
            num_layers=double,
            num_single_layers=single,
            attention_head_dim=128,
            num_attention_heads=24,
            joint_attention_dim=4096,
            pooled_projection_dim=768,
            guidance_embeds=True,
            axes_dims_rope=(16, 56, 56),
        ).to(device=device, dtype=torch.bfloat16)
    model.eval()
    build_s = time.perf_counter() - started

    side = int(round(image_tokens**0.5))
    if side * side != image_tokens:
        raise SystemExit(f"image tokens {image_tokens} must be a square (a {side}x{side} latent grid)")
    hidden = torch.randn(1, image_tokens, 64, device=device, dtype=torch.bfloat16)
    context = torch.randn(1, text_tokens, 4096, device=device, dtype=torch.bfloat16)
    pooled = torch.randn(1, 768, device=device, dtype=torch.bfloat16)
    timestep = torch.tensor([0.5], device=device, dtype=torch.bfloat16)
    guidance = torch.tensor([3.5], device=device, dtype=torch.bfloat16)
    rows = torch.arange(side, device=device).repeat_interleave(side)
    cols = torch.arange(side, device=device).repeat(side)
    img_ids = torch.stack([torch.zeros_like(rows), rows, cols], dim=1).to(torch.bfloat16)
    txt_ids = torch.zeros(text_tokens, 3, device=device, dtype=torch.bfloat16)

    def step() -> torch.Tensor:
        return model(
            hidden_states=hidden,
            encoder_hidden_states=context,
            pooled_projections=pooled,
            timestep=timestep,
            guidance=guidance,
            img_ids=img_ids,
            txt_ids=txt_ids,
            return_dict=False,
        )[0]

    def timed(fn) -> float:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1000

    block_ms: dict[str, list[float]] = {"double": [], "single": []}
    block_start: dict[int, float] = {}

    def hooks(kind: str, module: torch.nn.Module):
        def before(mod, args, kwargs):
            torch.cuda.synchronize()
            block_start[id(mod)] = time.perf_counter()

        def after(mod, args, kwargs, output):
            torch.cuda.synchronize()
            block_ms[kind].append((time.perf_counter() - block_start.pop(id(mod))) * 1000)

        return [
            module.register_forward_pre_hook(before, with_kwargs=True),
            module.register_forward_hook(after, with_kwargs=True),
        ]

    with torch.inference_mode():
        for _ in range(warmup):
            out = step()
        steps = [timed(step) for _ in range(runs)]
        out = step()
        handles = []
        for block in model.transformer_blocks:
            handles += hooks("double", block)
        for block in model.single_transformer_blocks:
            handles += hooks("single", block)
        for _ in range(runs):
            step()
        for handle in handles:
            handle.remove()

    print(
        json.dumps(
            {
                "side": "diffusers",
                "torch": torch.__version__,
                "diffusers": __import__("diffusers").__version__,
                "gpu": torch.cuda.get_device_name(0),
                "buildSeconds": round(build_s, 2),
                "msPerStep": statistics.median(steps),
                "msPerStepAll": steps,
                "msPerDoubleBlock": statistics.median(block_ms["double"]) if block_ms["double"] else None,
                "msPerSingleBlock": statistics.median(block_ms["single"]) if block_ms["single"] else None,
                "outputFinite": bool(torch.isfinite(out).all().item()),
            }
        )
    )


if __name__ == "__main__":
    main()
