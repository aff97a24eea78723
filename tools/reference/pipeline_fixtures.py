"""Tiny complete Diffusers pipelines (FLUX.1-dev-like, SD3-like, PixArt-Σ-like) and what they make from a prompt.

Each pipeline folder is a real model repo layout: model_index.json, scheduler/, transformer/, vae/, and the
tokenizer/text-encoder folders copied byte for byte from the tokenizer, text-encoder and VAE fixtures (so
git stores them once). The folder is loaded back with DiffusionPipeline.from_pretrained before any golden is
taken. Goldens per case: the uint8 image of pipe(prompt, ..., generator=torch.Generator("cpu").manual_seed(s))
(output_type "pil"), the final latents, and the prompt embeddings.

PixArt-Σ also gets transformer goldens (one forward with an attention mask, and a 4-step denoise through the
pipeline with given embeddings and latents), as make_fixtures.py writes for FLUX and SD3.
"""

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from diffusers import (
    AutoencoderKL,
    DiffusionPipeline,
    DPMSolverMultistepScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    PixArtSigmaPipeline,
    PixArtTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
)
from safetensors.torch import save_file
from transformers import AutoTokenizer, CLIPTextModel, CLIPTextModelWithProjection, T5EncoderModel

from checkpoints import randomise
from scheduler_fixtures import PIXART_SIGMA_SCHEDULER

FLUX_TINY = dict(
    patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=8, num_attention_heads=2,
    joint_attention_dim=48, pooled_projection_dim=16, axes_dims_rope=[2, 2, 4], guidance_embeds=True,
)
SD3_TINY = dict(
    sample_size=32, patch_size=2, in_channels=16, num_layers=2, attention_head_dim=8, num_attention_heads=2,
    joint_attention_dim=48, caption_projection_dim=16, pooled_projection_dim=40, out_channels=16,
    pos_embed_max_size=16,
)
# 4 heads (Ulysses 2 and 4), 4 blocks (2 per stage at PipeFusion pp=2); caption_channels = the tiny T5's width.
PIXART_TINY = dict(
    num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=8, num_layers=4, cross_attention_dim=32,
    caption_channels=48, sample_size=32, patch_size=2, norm_type="ada_norm_single", use_additional_conditions=False,
)
FLUX_DEV_SCHEDULER = {"shift": 3.0, "use_dynamic_shifting": True, "base_shift": 0.5, "max_shift": 1.15,
                      "base_image_seq_len": 256, "max_image_seq_len": 4096}

# (pipeline, case, prompt, negative prompt, height, width, steps, guidance, seed)
CASES = [
    ("flux-dev", "cat-64", "a photo of a cat, highly detailed", None, 64, 64, 4, 3.5, 42),
    ("flux-dev", "castle-64x96", "A castle under a misty sky, golden light!", None, 64, 96, 3, 4.0, 7),
    ("sd3", "cat-64", "a photo of a cat, highly detailed", "blurry", 64, 64, 4, 5.0, 42),
    ("sd3", "robot-96x64", "an old robot reading a book in a library", None, 96, 64, 3, 3.0, 1234),
    ("pixart-sigma", "cat-64", "A Photo of a Cat, highly detailed ", "", 64, 64, 4, 4.5, 42),
    ("pixart-sigma", "lake-64x96", "a quiet lake at sunrise, watercolor", "dark, grainy", 64, 96, 5, 3.0, 99),
]


def _copy(src: Path, dst: Path) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)


def _vae_folder(fixtures: Path, name: str, dst: Path, scaling: float | None = None, shift: float | None = None):
    _copy(fixtures / "vae" / name, dst)
    if scaling is not None:
        config = json.loads((dst / "config.json").read_text())
        config.update({"scaling_factor": scaling, "shift_factor": shift})
        (dst / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _randomised(cls, config: dict, seed: int):
    model = cls(**config)
    randomise(model, seed)
    return model.eval()


def build_pipeline(name: str, fixtures: Path, folder: Path) -> None:
    """Writes the pipeline folder: save_pretrained for the transformer, scheduler and model_index, then the
    component folders replaced by the fixture copies."""
    shutil.rmtree(folder, ignore_errors=True)
    tok = fixtures / "tokenizers"
    enc = fixtures / "text-encoders"
    if name == "flux-dev":
        pipe = FluxPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(**FLUX_DEV_SCHEDULER),
            vae=AutoencoderKL.from_pretrained(fixtures / "vae" / "vae-16ch"),
            text_encoder=CLIPTextModel.from_pretrained(enc / "clip-l"),
            tokenizer=AutoTokenizer.from_pretrained(tok / "clip"),
            text_encoder_2=T5EncoderModel.from_pretrained(enc / "t5"),
            tokenizer_2=AutoTokenizer.from_pretrained(tok / "t5"),
            transformer=_randomised(FluxTransformer2DModel, FLUX_TINY, 3001),
        )
        pipe.save_pretrained(folder)
        copies = {"text_encoder": enc / "clip-l", "tokenizer": tok / "clip", "text_encoder_2": enc / "t5",
                  "tokenizer_2": tok / "t5"}
        for component, src in copies.items():
            _copy(src, folder / component)
        _vae_folder(fixtures, "vae-16ch", folder / "vae")
    elif name == "sd3":
        pipe = StableDiffusion3Pipeline(
            transformer=_randomised(SD3Transformer2DModel, SD3_TINY, 3002),
            scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
            vae=AutoencoderKL.from_pretrained(fixtures / "vae" / "vae-16ch"),
            text_encoder=CLIPTextModelWithProjection.from_pretrained(enc / "clip-l-proj"),
            tokenizer=AutoTokenizer.from_pretrained(tok / "clip"),
            text_encoder_2=CLIPTextModelWithProjection.from_pretrained(enc / "clip-g"),
            tokenizer_2=AutoTokenizer.from_pretrained(tok / "clip-pad-bang"),
            text_encoder_3=T5EncoderModel.from_pretrained(enc / "t5"),
            tokenizer_3=AutoTokenizer.from_pretrained(tok / "t5"),
        )
        pipe.save_pretrained(folder)
        copies = {"text_encoder": enc / "clip-l-proj", "tokenizer": tok / "clip", "text_encoder_2": enc / "clip-g",
                  "tokenizer_2": tok / "clip-pad-bang", "text_encoder_3": enc / "t5", "tokenizer_3": tok / "t5"}
        for component, src in copies.items():
            _copy(src, folder / component)
        _vae_folder(fixtures, "vae-16ch", folder / "vae", scaling=1.5305, shift=0.0609)
    else:
        pipe = PixArtSigmaPipeline(
            tokenizer=AutoTokenizer.from_pretrained(tok / "t5-spiece"),
            text_encoder=T5EncoderModel.from_pretrained(enc / "t5"),
            vae=AutoencoderKL.from_pretrained(fixtures / "vae" / "vae-4ch"),
            transformer=_randomised(PixArtTransformer2DModel, PIXART_TINY, 3003),
            scheduler=DPMSolverMultistepScheduler(**PIXART_SIGMA_SCHEDULER),
        )
        pipe.save_pretrained(folder)
        _copy(tok / "t5-spiece", folder / "tokenizer")
        _copy(enc / "t5", folder / "text_encoder")
        _vae_folder(fixtures, "vae-4ch", folder / "vae")


def _call(pipe, name: str, prompt: str, negative: str | None, height: int, width: int, steps: int,
          guidance: float, seed: int, output_type: str):
    kwargs = dict(prompt=prompt, height=height, width=width, num_inference_steps=steps, guidance_scale=guidance,
                  generator=torch.Generator("cpu").manual_seed(seed), output_type=output_type)
    if negative is not None:
        kwargs["negative_prompt"] = negative
    if name == "pixart-sigma":
        kwargs["use_resolution_binning"] = False
    with torch.no_grad():
        return pipe(**kwargs).images


def _embeddings(pipe, name: str, prompt: str, negative: str | None) -> dict[str, torch.Tensor]:
    """The pipeline's own encode_prompt, named as the pipeline's __call__ arguments."""
    with torch.no_grad():
        if name == "flux-dev":
            embeds, pooled, _ = pipe.encode_prompt(prompt=prompt, prompt_2=None, max_sequence_length=512)
            return {"prompt_embeds": embeds, "pooled_prompt_embeds": pooled}
        if name == "sd3":
            embeds, neg, pooled, neg_pooled = pipe.encode_prompt(
                prompt=prompt, prompt_2=None, prompt_3=None, negative_prompt=negative, do_classifier_free_guidance=True)
            return {"prompt_embeds": embeds, "negative_prompt_embeds": neg, "pooled_prompt_embeds": pooled,
                    "negative_pooled_prompt_embeds": neg_pooled}
        embeds, mask, neg, neg_mask = pipe.encode_prompt(
            prompt, do_classifier_free_guidance=True, negative_prompt=negative or "", clean_caption=False,
            max_sequence_length=300)
        return {"prompt_embeds": embeds, "prompt_attention_mask": mask.float(), "negative_prompt_embeds": neg,
                "negative_prompt_attention_mask": neg_mask.float()}


def pipeline_goldens(fixtures: Path, out: Path) -> dict:
    entries = []
    for name in ("flux-dev", "sd3", "pixart-sigma"):
        build_pipeline(name, fixtures, out / name)
    for name, case, prompt, negative, height, width, steps, guidance, seed in CASES:
        pipe = DiffusionPipeline.from_pretrained(out / name, torch_dtype=torch.float32)
        image = np.array(_call(pipe, name, prompt, negative, height, width, steps, guidance, seed, "pil")[0])
        latents = _call(pipe, name, prompt, negative, height, width, steps, guidance, seed, "latent")
        file = f"{name}-{case}.safetensors"
        save_file({"image": torch.from_numpy(image.astype(np.float32)).contiguous(),
                   "latents": latents.float().contiguous(), **_embeddings(pipe, name, prompt, negative)},
                  str(out / file))
        entries.append({"pipeline": name, "case": case, "file": file, "class": type(pipe).__name__,
                        "prompt": prompt, "negative_prompt": negative, "height": height, "width": width,
                        "steps": steps, "guidance_scale": guidance, "seed": seed,
                        "image_shape": list(image.shape), "latents_shape": list(latents.shape)})
    return {"pipelines": ["flux-dev", "sd3", "pixart-sigma"], "cases": entries,
            "call": 'pipe(prompt, negative_prompt?, height, width, num_inference_steps, guidance_scale, '
                    'generator=torch.Generator("cpu").manual_seed(seed), output_type="pil") '
                    '(PixArt-Σ: use_resolution_binning=False)'}


def pixart_transformer_goldens(out: Path) -> dict:
    """One forward (masked text, batch 2, non-square) and a 4-step CFG denoise of the PixArt-Σ pipeline's
    transformer, with the float64 noise floor."""
    pipe = DiffusionPipeline.from_pretrained(out / "pixart-sigma", torch_dtype=torch.float32)
    model = pipe.transformer
    gen = torch.Generator().manual_seed(77)
    hidden = torch.randn(2, 4, 6, 10, generator=gen)
    text = torch.randn(2, 9, PIXART_TINY["caption_channels"], generator=gen)
    mask = torch.tensor([[1] * 9, [1] * 5 + [0] * 4], dtype=torch.float32)
    timestep = torch.tensor([999, 250])
    with torch.no_grad():
        sample = model(hidden, encoder_hidden_states=text, encoder_attention_mask=mask, timestep=timestep,
                       added_cond_kwargs={"resolution": None, "aspect_ratio": None}, return_dict=False)[0]
        sample64 = copy.deepcopy(model).double()(hidden.double(), encoder_hidden_states=text.double(),
                                                 encoder_attention_mask=mask.double(), timestep=timestep,
                                                 added_cond_kwargs={"resolution": None, "aspect_ratio": None},
                                                 return_dict=False)[0]
    forward_floor = float((sample.double() - sample64).abs().max())
    save_file({"hidden_states": hidden, "encoder_hidden_states": text, "encoder_attention_mask": mask,
               "timestep": timestep.float(), "sample": sample.contiguous()}, str(out / "pixart-forward.safetensors"))

    latents = torch.randn(1, 4, 8, 8, generator=gen)
    prompt_embeds = torch.randn(1, 12, PIXART_TINY["caption_channels"], generator=gen)
    negative_embeds = torch.randn(1, 12, PIXART_TINY["caption_channels"], generator=gen)
    prompt_mask = torch.tensor([[1] * 7 + [0] * 5], dtype=torch.float32)
    negative_mask = torch.tensor([[1] * 3 + [0] * 9], dtype=torch.float32)
    steps, guidance = 4, 4.5

    def denoise(p):
        with torch.no_grad():
            return p(prompt=None, negative_prompt=None, prompt_embeds=prompt_embeds, prompt_attention_mask=prompt_mask,
                     negative_prompt_embeds=negative_embeds, negative_prompt_attention_mask=negative_mask,
                     latents=latents, height=64, width=64, num_inference_steps=steps, guidance_scale=guidance,
                     output_type="latent", use_resolution_binning=False).images

    output = denoise(pipe)
    pipe64 = DiffusionPipeline.from_pretrained(out / "pixart-sigma", torch_dtype=torch.float64)
    with torch.no_grad():
        output64 = pipe64(prompt=None, negative_prompt=None, prompt_embeds=prompt_embeds.double(), prompt_attention_mask=prompt_mask,
                          negative_prompt_embeds=negative_embeds.double(), negative_prompt_attention_mask=negative_mask,
                          latents=latents.double(), height=64, width=64, num_inference_steps=steps,
                          guidance_scale=guidance, output_type="latent", use_resolution_binning=False).images
    denoise_floor = float((output.double() - output64).abs().max())
    save_file({"latents": latents, "prompt_embeds": prompt_embeds, "prompt_attention_mask": prompt_mask,
               "negative_prompt_embeds": negative_embeds, "negative_prompt_attention_mask": negative_mask,
               "output_latents": output.contiguous()}, str(out / "pixart-denoise.safetensors"))
    return {
        "forward": {"file": "pixart-forward.safetensors", "f32_vs_f64_max_abs": forward_floor,
                    "sample_max_abs": float(sample.abs().max()),
                    "notes": "timestep = integer DDPM t per sample; encoder_attention_mask 1 = token, 0 = padding"},
        "denoise": {"file": "pixart-denoise.safetensors", "steps": steps, "guidance_scale": guidance,
                    "height_px": 64, "width_px": 64, "f32_vs_f64_max_abs": denoise_floor,
                    "output_max_abs": float(output.abs().max()),
                    "loop": "PixArtSigmaPipeline with prompt_embeds/masks and negative ones, latents given, "
                            "CFG [uncond; cond], learned sigma dropped, DPMSolverMultistepScheduler"},
        "config": PIXART_TINY,
    }
