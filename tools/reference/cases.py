"""The fixture cases: which tiny checkpoints exist, which inputs run through them, and the sigma settings.

Sizes follow what the parallel denoiser (issue #8) needs: 4 heads (Ulysses 2 and 4), at least 2 blocks per
PipeFusion stage at pp=2 (Flux 2 double + 2 single, SD3 4 blocks), image token counts divisible by 2 and 4,
and text lengths of 8 (divisible) and 7 (not divisible by 2 or 4).
"""

from dataclasses import dataclass, field

# Flux: D = 4 heads x 8 = 32; in_channels 16 = 4 latent channels packed 2x2; rope axes sum to head_dim.
FLUX_BASE = {
    "patch_size": 1,
    "in_channels": 16,
    "out_channels": None,
    "num_layers": 2,
    "num_single_layers": 2,
    "attention_head_dim": 8,
    "num_attention_heads": 4,
    "joint_attention_dim": 24,
    "pooled_projection_dim": 20,
    "axes_dims_rope": [2, 2, 4],
}

# SD3: D = 4 heads x 8 = 32 = caption_projection_dim; 4 blocks, the last one context_pre_only.
SD3_BASE = {
    "sample_size": 32,
    "patch_size": 2,
    "in_channels": 16,
    "num_layers": 4,
    "attention_head_dim": 8,
    "num_attention_heads": 4,
    "joint_attention_dim": 24,
    "caption_projection_dim": 32,
    "pooled_projection_dim": 40,
    "out_channels": 16,
    "pos_embed_max_size": 16,
}

# Scheduler configs as released (FLUX.1-dev, FLUX.1-schnell, SD3/SD3.5), restricted to the keys they set.
FLUX_DEV_SCHEDULER = {
    "shift": 3.0,
    "use_dynamic_shifting": True,
    "base_shift": 0.5,
    "max_shift": 1.15,
    "base_image_seq_len": 256,
    "max_image_seq_len": 4096,
}
FLUX_SCHNELL_SCHEDULER = {"shift": 1.0, "use_dynamic_shifting": False}
SD3_SCHEDULER = {"shift": 3.0}


@dataclass(frozen=True)
class ForwardCase:
    """One transformer forward. Latent sizes are in latent pixels (before Flux packing / SD3 patching)."""

    name: str
    batch: int
    latent_height: int
    latent_width: int
    text_len: int
    guidance: float | None = None  # Flux guidance value (dev-like only)
    timestep: float = 0.0  # Flux: sigma in (0,1]; SD3: t in (0,1000]


@dataclass(frozen=True)
class DenoiseCase:
    """A 4-step denoise through the real pipeline with prompt embeddings given (no text encoders, no VAE)."""

    name: str
    latent_height: int
    latent_width: int
    text_len: int
    steps: int = 4
    guidance_scale: float = 3.5


@dataclass(frozen=True)
class Checkpoint:
    name: str
    family: str  # "flux" | "sd3"
    description: str
    config: dict
    scheduler: dict
    seed: int
    dtype: str = "float32"  # weights as stored: "float32" | "bfloat16"
    max_shard_size: str | None = None  # set => sharded safetensors with an index
    forwards: list[ForwardCase] = field(default_factory=list)
    denoises: list[DenoiseCase] = field(default_factory=list)


CHECKPOINTS = [
    Checkpoint(
        name="flux-dev",
        family="flux",
        description="FLUX.1-dev-like: guidance embedding, dynamic (resolution-dependent) shift",
        config={**FLUX_BASE, "guidance_embeds": True},
        scheduler=FLUX_DEV_SCHEDULER,
        seed=1001,
        forwards=[
            ForwardCase("square-txt8", 1, 8, 8, 8, guidance=3.5, timestep=0.75),
            ForwardCase("nonsquare-txt7", 1, 8, 12, 7, guidance=4.0, timestep=0.3),
        ],
        denoises=[DenoiseCase("nonsquare-txt7", 8, 12, 7, guidance_scale=3.5)],
    ),
    Checkpoint(
        name="flux-schnell",
        family="flux",
        description="FLUX.1-schnell-like: no guidance embedding, static shift 1; sharded safetensors",
        config={**FLUX_BASE, "guidance_embeds": False},
        scheduler=FLUX_SCHNELL_SCHEDULER,
        seed=1002,
        max_shard_size="150KB",
        forwards=[ForwardCase("square-txt7", 1, 8, 8, 7, timestep=1.0)],
        denoises=[DenoiseCase("square-txt8", 8, 8, 8, guidance_scale=0.0)],
    ),
    Checkpoint(
        name="flux-dev-bf16",
        family="flux",
        description="flux-dev config with BF16 weights; goldens computed in F32 from the BF16 values",
        config={**FLUX_BASE, "guidance_embeds": True},
        scheduler=FLUX_DEV_SCHEDULER,
        seed=1003,
        dtype="bfloat16",
        forwards=[ForwardCase("square-txt8", 1, 8, 8, 8, guidance=3.5, timestep=0.5)],
    ),
    Checkpoint(
        name="sd3-medium",
        family="sd3",
        description="SD3-medium-like: no q/k norm, no dual attention, last block context_pre_only",
        config={**SD3_BASE, "dual_attention_layers": [], "qk_norm": None},
        scheduler=SD3_SCHEDULER,
        seed=2001,
        forwards=[
            ForwardCase("square-txt8-b2", 2, 16, 16, 8, timestep=750.0),
            ForwardCase("nonsquare-txt7", 1, 16, 8, 7, timestep=200.0),
        ],
        denoises=[DenoiseCase("square-txt7-cfg", 16, 16, 7, guidance_scale=5.0)],
    ),
    Checkpoint(
        name="sd35-medium",
        family="sd3",
        description="SD3.5-medium-like: RMS q/k norm, dual attention in blocks 0-1, last block context_pre_only",
        config={**SD3_BASE, "dual_attention_layers": [0, 1], "qk_norm": "rms_norm"},
        scheduler=SD3_SCHEDULER,
        seed=2002,
        forwards=[ForwardCase("nonsquare-txt8", 1, 8, 16, 8, timestep=500.0)],
        denoises=[DenoiseCase("nonsquare-txt8-cfg", 8, 16, 8, guidance_scale=5.0)],
    ),
]


@dataclass(frozen=True)
class SigmaCase:
    """One `set_timesteps` call. `pipeline_sigmas` => pass Flux's linspace(1, 1/N, N) like FluxPipeline does."""

    name: str
    scheduler: dict
    steps: int
    mu: float | None = None
    image_seq_len: int | None = None  # set => mu from calculate_shift(image_seq_len, scheduler's base/max)
    pipeline_sigmas: bool = False


def sigma_cases() -> list[SigmaCase]:
    cases = []
    for seq in (16, 256, 1024, 4096, 16384):
        for steps in (1, 4, 28, 50):
            cases.append(
                SigmaCase(f"flux-dev-seq{seq}-n{steps}", FLUX_DEV_SCHEDULER, steps, image_seq_len=seq, pipeline_sigmas=True)
            )
    for steps in (1, 4, 8):
        cases.append(SigmaCase(f"flux-schnell-n{steps}", FLUX_SCHNELL_SCHEDULER, steps, image_seq_len=4096, pipeline_sigmas=True))
    for steps in (1, 4, 28, 50):
        cases.append(SigmaCase(f"sd3-shift3-n{steps}", SD3_SCHEDULER, steps))
    cases += [
        SigmaCase("default-config-n10", {}, 10),
        SigmaCase("static-shift5-n20", {"shift": 5.0}, 20),
        SigmaCase("static-shift3-pipeline-sigmas-n6", {"shift": 3.0}, 6, pipeline_sigmas=True),
        SigmaCase("dynamic-mu0.3-default-linspace-n12", {**FLUX_DEV_SCHEDULER}, 12, mu=0.3),
        SigmaCase("linear-time-shift-mu1.1-n10", {**FLUX_DEV_SCHEDULER, "time_shift_type": "linear"}, 10, mu=1.1, pipeline_sigmas=True),
        SigmaCase("shift-terminal0.1-n8", {"shift": 3.0, "shift_terminal": 0.1}, 8),
        SigmaCase("inverted-shift3-n6", {"shift": 3.0, "invert_sigmas": True}, 6),
        SigmaCase("train-timesteps500-shift2-n7", {"num_train_timesteps": 500, "shift": 2.0}, 7),
    ]
    return cases


# Released full-size transformer configs (runtime.md §1.1, §2), only for their tensor names and shapes.
FULL_SIZE_CONFIGS = {
    "flux1-dev": ("flux", {"guidance_embeds": True}),
    "flux1-schnell": ("flux", {"guidance_embeds": False}),
    "sd3-medium": (
        "sd3",
        {"num_layers": 24, "num_attention_heads": 24, "caption_projection_dim": 1536, "pos_embed_max_size": 192},
    ),
    "sd3.5-large": (
        "sd3",
        {
            "num_layers": 38,
            "num_attention_heads": 38,
            "caption_projection_dim": 2432,
            "pos_embed_max_size": 192,
            "qk_norm": "rms_norm",
        },
    ),
    "sd3.5-medium": (
        "sd3",
        {
            "num_layers": 24,
            "num_attention_heads": 24,
            "caption_projection_dim": 1536,
            "pos_embed_max_size": 384,
            "qk_norm": "rms_norm",
            "dual_attention_layers": list(range(13)),
        },
    ),
}
