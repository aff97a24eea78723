"""Diffusers' outputs for one transformer forward and for a full denoise, with random inputs.

Each run also measures its own float noise floor (the same math in float64), which sets the tolerance the
TypeScript side may use: a faithful F32 implementation differs from torch's F32 by about that much.
"""

import copy

import torch
from diffusers import FluxPipeline

from cases import Checkpoint, DenoiseCase, ForwardCase

# A faithful F32 re-implementation should land within this many noise floors of torch's F32 result.
TOLERANCE_FACTOR = 20.0
MIN_ATOL = 1e-5

FLUX_DENOISE_LOOP = (
    "latents = pack(noise [B,C,h,w]) (FluxPipeline._pack_latents); img_ids = (0, row, col) over the (h/2, w/2) grid; "
    "txt_ids = zeros [N_txt,3]; sigmas = linspace(1, 1/N, N); mu = calculate_shift(N_img, base_image_seq_len, "
    "max_image_seq_len, base_shift, max_shift); scheduler.set_timesteps(sigmas=sigmas, mu=mu); "
    "guidance = full([B], guidance_scale) if guidance_embeds else None; for i, t in enumerate(scheduler.timesteps): "
    "v = transformer(hidden_states=latents, timestep=t/1000, guidance=guidance, pooled_projections=pooled_prompt_embeds, "
    "encoder_hidden_states=prompt_embeds, txt_ids=txt_ids, img_ids=img_ids); "
    "latents = latents + (sigmas[i+1] - sigmas[i]) * v (scheduler.step, float32). Output: packed latents [B,N_img,C*4]."
)
SD3_DENOISE_LOOP = (
    "scheduler.set_timesteps(N) (static shift); for i, t in enumerate(scheduler.timesteps): "
    "x = cat([latents, latents]); v = transformer(hidden_states=x, timestep=t.expand(2), "
    "encoder_hidden_states=cat([negative_prompt_embeds, prompt_embeds]), "
    "pooled_projections=cat([negative_pooled_prompt_embeds, pooled_prompt_embeds])); "
    "v_uncond, v_cond = v.chunk(2); v = v_uncond + guidance_scale * (v_cond - v_uncond); "
    "latents = latents + (sigmas[i+1] - sigmas[i]) * v (scheduler.step, float32). Output: latents [B,16,h,w]."
)


def _randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float32)


def _tolerance(noise_floor: float) -> dict:
    return {"atol": max(MIN_ATOL, TOLERANCE_FACTOR * noise_floor), "rtol": 1e-4}


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max())


def _flux_ids(batch: int, latent_h: int, latent_w: int, text_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    img_ids = FluxPipeline._prepare_latent_image_ids(batch, latent_h // 2, latent_w // 2, "cpu", torch.float32)
    return img_ids, torch.zeros(text_len, 3, dtype=torch.float32)


def forward_inputs(ckpt: Checkpoint, case: ForwardCase, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    cfg = ckpt.config
    b = case.batch
    if ckpt.family == "flux":
        tokens = (case.latent_height // 2) * (case.latent_width // 2)
        img_ids, txt_ids = _flux_ids(b, case.latent_height, case.latent_width, case.text_len)
        inputs = {
            "hidden_states": _randn(gen, b, tokens, cfg["in_channels"]),
            "encoder_hidden_states": _randn(gen, b, case.text_len, cfg["joint_attention_dim"]),
            "pooled_projections": _randn(gen, b, cfg["pooled_projection_dim"]),
            "timestep": torch.full((b,), case.timestep, dtype=torch.float32),
            "img_ids": img_ids,
            "txt_ids": txt_ids,
        }
        if cfg["guidance_embeds"]:
            inputs["guidance"] = torch.full((b,), case.guidance, dtype=torch.float32)
        return inputs
    return {
        "hidden_states": _randn(gen, b, cfg["in_channels"], case.latent_height, case.latent_width),
        "encoder_hidden_states": _randn(gen, b, case.text_len, cfg["joint_attention_dim"]),
        "pooled_projections": _randn(gen, b, cfg["pooled_projection_dim"]),
        "timestep": torch.full((b,), case.timestep, dtype=torch.float32),
    }


def run_forward(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, float]:
    """Returns the F32 output and its distance to the same forward in F64 (the noise floor)."""
    with torch.no_grad():
        out32 = model(**inputs, return_dict=False)[0]
        model64 = copy.deepcopy(model).double()
        out64 = model64(**{k: v.double() for k, v in inputs.items()}, return_dict=False)[0]
    return out32.contiguous(), _max_abs(out32, out64)


def forward_fixture(ckpt: Checkpoint, model: torch.nn.Module, case: ForwardCase, seed: int):
    inputs = forward_inputs(ckpt, case, seed)
    sample, floor = run_forward(model, inputs)
    tensors = {**inputs, "sample": sample}
    meta = {
        "kind": "forward",
        "case": case.name,
        "inputs": {k: list(v.shape) for k, v in inputs.items()},
        "outputs": {"sample": list(sample.shape)},
        "f32_vs_f64_max_abs": floor,
        "sample_max_abs": float(sample.abs().max()),
        "tolerance": _tolerance(floor),
        "notes": _forward_notes(ckpt),
    }
    return tensors, meta


def _forward_notes(ckpt: Checkpoint) -> str:
    if ckpt.family == "flux":
        return "Flux: timestep is sigma in (0,1] (the model multiplies by 1000); guidance likewise; img/txt ids are 2-D."
    return "SD3: timestep is t in [0,1000] as-is; hidden_states are unpatched latents [B,C,H,W]."


def denoise_inputs(ckpt: Checkpoint, case: DenoiseCase, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    cfg = ckpt.config
    if ckpt.family == "flux":
        channels = cfg["in_channels"] // 4
        noise = _randn(gen, 1, channels, case.latent_height, case.latent_width)
        packed = FluxPipeline._pack_latents(noise, 1, channels, case.latent_height, case.latent_width)
        return {
            "latents": packed.contiguous(),
            "latents_unpacked": noise,
            "prompt_embeds": _randn(gen, 1, case.text_len, cfg["joint_attention_dim"]),
            "pooled_prompt_embeds": _randn(gen, 1, cfg["pooled_projection_dim"]),
        }
    return {
        "latents": _randn(gen, 1, cfg["in_channels"], case.latent_height, case.latent_width),
        "prompt_embeds": _randn(gen, 1, case.text_len, cfg["joint_attention_dim"]),
        "pooled_prompt_embeds": _randn(gen, 1, cfg["pooled_projection_dim"]),
        "negative_prompt_embeds": _randn(gen, 1, case.text_len, cfg["joint_attention_dim"]),
        "negative_pooled_prompt_embeds": _randn(gen, 1, cfg["pooled_projection_dim"]),
    }


def _pipeline_call(pipe, ckpt: Checkpoint, case: DenoiseCase, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    # Pixel sizes the pipeline derives its latent grid from (VAE factor 8, as when no VAE is loaded).
    height, width = case.latent_height * 8, case.latent_width * 8
    common = {
        "height": height,
        "width": width,
        "num_inference_steps": case.steps,
        "guidance_scale": case.guidance_scale,
        "latents": inputs["latents"],
        "prompt_embeds": inputs["prompt_embeds"],
        "pooled_prompt_embeds": inputs["pooled_prompt_embeds"],
        "output_type": "latent",
        "return_dict": False,
    }
    if ckpt.family == "sd3":
        common["negative_prompt_embeds"] = inputs["negative_prompt_embeds"]
        common["negative_pooled_prompt_embeds"] = inputs["negative_pooled_prompt_embeds"]
    with torch.no_grad():
        return pipe(**common)[0]


def _manual_loop(model, scheduler, ckpt: Checkpoint, case: DenoiseCase, inputs: dict[str, torch.Tensor], dtype):
    """The loop written out (what the fixture metadata documents); also records every step."""
    latents = inputs["latents"].to(dtype)
    steps = {"timesteps": scheduler.timesteps.clone(), "sigmas": scheduler.sigmas.clone()}
    preds, trajectory, halves = [], [], []
    cast = {k: v.to(dtype) for k, v in inputs.items()}
    scheduler.set_begin_index(0)
    with torch.no_grad():
        for t in scheduler.timesteps:
            if ckpt.family == "flux":
                img_ids, txt_ids = _flux_ids(1, case.latent_height, case.latent_width, case.text_len)
                guidance = (
                    torch.full((1,), case.guidance_scale, dtype=dtype) if ckpt.config["guidance_embeds"] else None
                )
                v = model(
                    hidden_states=latents,
                    timestep=t.expand(1).to(dtype) / 1000,
                    guidance=guidance,
                    pooled_projections=cast["pooled_prompt_embeds"],
                    encoder_hidden_states=cast["prompt_embeds"],
                    txt_ids=txt_ids.to(dtype),
                    img_ids=img_ids.to(dtype),
                    return_dict=False,
                )[0]
            else:
                v_both = model(
                    hidden_states=torch.cat([latents, latents]),
                    timestep=t.expand(2),
                    encoder_hidden_states=torch.cat([cast["negative_prompt_embeds"], cast["prompt_embeds"]]),
                    pooled_projections=torch.cat(
                        [cast["negative_pooled_prompt_embeds"], cast["pooled_prompt_embeds"]]
                    ),
                    return_dict=False,
                )[0]
                v_uncond, v_cond = v_both.chunk(2)
                halves.append((v_uncond, v_cond))
                v = v_uncond + case.guidance_scale * (v_cond - v_uncond)
            latents = scheduler.step(v, t, latents, return_dict=False)[0]
            preds.append(v)
            trajectory.append(latents)
    return latents, preds, trajectory, steps, halves


def _set_timesteps(scheduler, ckpt: Checkpoint, case: DenoiseCase, inputs: dict[str, torch.Tensor]) -> float | None:
    if ckpt.family != "flux":
        scheduler.set_timesteps(case.steps)
        return None
    import numpy as np
    from diffusers.pipelines.flux.pipeline_flux import calculate_shift

    cfg = scheduler.config
    mu = calculate_shift(
        inputs["latents"].shape[1],
        cfg.get("base_image_seq_len", 256),
        cfg.get("max_image_seq_len", 4096),
        cfg.get("base_shift", 0.5),
        cfg.get("max_shift", 1.15),
    )
    scheduler.set_timesteps(sigmas=np.linspace(1.0, 1 / case.steps, case.steps), mu=mu)
    return mu


def denoise_fixture(ckpt: Checkpoint, model: torch.nn.Module, case: DenoiseCase, seed: int, make_pipeline):
    inputs = denoise_inputs(ckpt, case, seed)
    model_inputs = {k: v for k, v in inputs.items() if k != "latents_unpacked"}
    pipe_out = _pipeline_call(make_pipeline(model), ckpt, case, model_inputs)

    scheduler = make_pipeline(model).scheduler
    mu = _set_timesteps(scheduler, ckpt, case, model_inputs)
    final, preds, trajectory, steps, halves = _manual_loop(model, scheduler, ckpt, case, model_inputs, torch.float32)
    loop_vs_pipeline = _max_abs(final, pipe_out)
    if loop_vs_pipeline != 0.0:
        raise AssertionError(f"{ckpt.name}/{case.name}: the written-out loop differs from the pipeline by {loop_vs_pipeline}")

    scheduler64 = make_pipeline(model).scheduler
    _set_timesteps(scheduler64, ckpt, case, model_inputs)
    model64 = copy.deepcopy(model).double()
    final64, *_ = _manual_loop(model64, scheduler64, ckpt, case, model_inputs, torch.float64)
    floor = _max_abs(final, final64)

    tensors = {**inputs, "output_latents": pipe_out.contiguous()}
    tensors["timesteps"] = steps["timesteps"].float()
    tensors["sigmas"] = steps["sigmas"].float()
    for i, (v, lat) in enumerate(zip(preds, trajectory)):
        tensors[f"step{i}.noise_pred"] = v.contiguous()
        tensors[f"step{i}.latents"] = lat.contiguous()
    for i, (v_uncond, v_cond) in enumerate(halves):
        tensors[f"step{i}.noise_pred_uncond"] = v_uncond.contiguous()
        tensors[f"step{i}.noise_pred_cond"] = v_cond.contiguous()
    meta = {
        "kind": "denoise",
        "case": case.name,
        "steps": case.steps,
        "guidance_scale": case.guidance_scale,
        "mu": mu,
        "height_px": case.latent_height * 8,
        "width_px": case.latent_width * 8,
        "loop": FLUX_DENOISE_LOOP if ckpt.family == "flux" else SD3_DENOISE_LOOP,
        "inputs": {k: list(v.shape) for k, v in inputs.items()},
        "outputs": {"output_latents": list(pipe_out.shape)},
        "per_step": "stepI.noise_pred = guided velocity of step I; stepI.latents = latents after step I"
        + ("; stepI.noise_pred_uncond / _cond = the two halves of the CFG batch" if ckpt.family == "sd3" else ""),
        "timesteps": [float(t) for t in steps["timesteps"]],
        "sigmas": [float(s) for s in steps["sigmas"]],
        "f32_vs_f64_max_abs": floor,
        "output_max_abs": float(pipe_out.abs().max()),
        "tolerance": _tolerance(floor),
    }
    return tensors, meta
