"""Tiny text encoders with real transformers names and layout, and their outputs on tokenized prompts.

  t5            T5EncoderModel (v1.1: gated-gelu, relative position bias), F32
  t5-bf16       the same config with BF16 weights (goldens in F32 from the BF16 values)
  clip-l        CLIPTextModel (quick_gelu, no projection; eos_token_id 2: pooled at the argmax id, as
                the released FLUX/SD3 configs)
  clip-l-proj   CLIPTextModelWithProjection (eos_token_id = the tokenizer's; sharded safetensors)
  clip-g        CLIPTextModelWithProjection with gelu (erf), as SD3's text_encoder_2

Each is saved with save_pretrained, loaded back, and run in F32 (and F64 for the noise floor) on ids from the
tokenizer fixtures: `last_hidden_state` (T5 also with the tokenizer's attention mask, as PixArt runs it),
CLIP's `pooler_output`, `hidden_states[-2]` (SD3's penultimate layer) and `text_embeds`.
"""

import copy
import math
import zlib
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import (
    AutoTokenizer,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    T5Config,
    T5EncoderModel,
)
from transformers.models.t5.modeling_t5 import T5Attention

# Sizes the tiny pipelines share: SD3 pads CLIP-L ⊕ CLIP-G (16 + 24) to T5's width (48); FLUX pools
# CLIP-L (16); PixArt's caption_channels is T5's width.
T5_TINY = dict(
    vocab_size=400, d_model=48, d_kv=8, d_ff=64, num_layers=2, num_heads=4, relative_attention_num_buckets=32,
    relative_attention_max_distance=128, feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6,
    dropout_rate=0.0, tie_word_embeddings=False,
)
CLIP_L_TINY = dict(
    vocab_size=1114, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
    max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=16,
    bos_token_id=1112, pad_token_id=1113, attention_dropout=0.0,
)
CLIP_G_TINY = dict(
    CLIP_L_TINY, hidden_size=24, intermediate_size=48, num_attention_heads=2, hidden_act="gelu", projection_dim=24,
    eos_token_id=1113,
)

ENCODERS = [
    # name, class, config, seed, dtype, max_shard_size, tokenizer folder, max length
    ("t5", T5EncoderModel, T5Config, T5_TINY, 301, "float32", None, "t5", 48),
    ("t5-bf16", T5EncoderModel, T5Config, T5_TINY, 302, "bfloat16", None, "t5", 48),
    ("clip-l", CLIPTextModel, CLIPTextConfig, dict(CLIP_L_TINY, eos_token_id=2), 303, "float32", None, "clip", 77),
    ("clip-l-proj", CLIPTextModelWithProjection, CLIPTextConfig, dict(CLIP_L_TINY, eos_token_id=1113), 304,
     "float32", "30KB", "clip", 77),
    ("clip-g", CLIPTextModelWithProjection, CLIPTextConfig, CLIP_G_TINY, 305, "float32", None, "clip-pad-bang", 77),
]
PROMPTS = ["a photo of a cat, highly detailed, trending on artstation", "Astronaut riding a horse on the moon!!!"]
LONG_PROMPT = " ".join(["castle", "under", "a", "misty", "sky", "with", "golden", "light"] * 12)


def _generator(seed: int, name: str) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))


def randomise_encoder(model: torch.nn.Module, seed: int) -> None:
    """O(1) activations through every layer: linears N(0, 1/fan_in), embeddings and position tables N(0, 1)
    (T5's bias table at 0.5), norm weights 1 + 0.1·N, biases 0.1·N."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=_generator(seed, name), dtype=torch.float64)
            if name.endswith(".bias"):
                value = 0.1 * noise
            elif param.dim() == 1:
                value = 1.0 + 0.1 * noise
            elif "embedding" in name or name.endswith("shared.weight"):
                value = noise
            elif "relative_attention_bias" in name:
                value = 0.5 * noise
            else:
                value = noise / math.sqrt(param.shape[1])
            param.copy_(value.to(param.dtype))


def _tokenize(tokenizers_dir: Path, folder: str, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    tok = AutoTokenizer.from_pretrained(tokenizers_dir / folder)
    enc = tok(PROMPTS + [LONG_PROMPT], padding="max_length", max_length=max_length, truncation=True,
              return_tensors="pt")
    return enc.input_ids, enc.attention_mask


def _outputs(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor, is_t5: bool) -> dict:
    with torch.no_grad():
        if is_t5:
            return {
                "last_hidden_state": model(input_ids=ids).last_hidden_state,
                "last_hidden_state_masked": model(input_ids=ids, attention_mask=mask).last_hidden_state,
            }
        out = model(input_ids=ids, output_hidden_states=True)
        result = {"last_hidden_state": out.last_hidden_state, "penultimate_hidden_state": out.hidden_states[-2]}
        if hasattr(out, "text_embeds"):
            result["text_embeds"] = out.text_embeds
        else:
            result["pooler_output"] = out.pooler_output
        return result


def _max_abs(a: dict, b: dict) -> float:
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def build_encoder(cls, config_cls, config: dict, seed: int, dtype: str) -> torch.nn.Module:
    model = cls(config_cls(**config))
    randomise_encoder(model, seed)
    return model.to(torch.bfloat16 if dtype == "bfloat16" else torch.float32).eval()


def text_encoder_fixtures(out: Path, tokenizers_dir: Path) -> dict:
    entries = []
    for name, cls, config_cls, config, seed, dtype, shard, tokenizer, max_length in ENCODERS:
        folder = out / name
        kwargs = {"max_shard_size": shard} if shard else {}
        build_encoder(cls, config_cls, config, seed, dtype).save_pretrained(folder, **kwargs)
        model = cls.from_pretrained(folder, torch_dtype=torch.float32).eval()
        ids, mask = _tokenize(tokenizers_dir, tokenizer, max_length)
        is_t5 = cls is T5EncoderModel
        outputs = _outputs(model, ids, mask, is_t5)
        floor = _max_abs(outputs, _outputs(copy.deepcopy(model).double(), ids, mask, is_t5))
        tensors = {"input_ids": ids.float(), "attention_mask": mask.float(), **outputs}
        save_file({k: v.float().contiguous() for k, v in tensors.items()}, str(out / f"{name}.io.safetensors"))
        entries.append({
            "name": name, "class": cls.__name__, "folder": name, "io": f"{name}.io.safetensors",
            "weights_dtype": dtype, "sharded": shard is not None, "tokenizer": tokenizer, "max_length": max_length,
            "outputs": sorted(outputs), "f32_vs_f64_max_abs": floor,
            "tolerance": {"atol": max(1e-5, 20 * floor), "rtol": 1e-4},
        })
    positions = torch.arange(-600, 601)
    buckets = T5Attention._relative_position_bucket(positions, bidirectional=True, num_buckets=32, max_distance=128)
    return {
        "encoders": entries,
        "prompts": PROMPTS + [LONG_PROMPT],
        "t5_buckets": {"relative_positions": [-600, 600], "num_buckets": 32, "max_distance": 128,
                       "buckets": buckets.tolist()},
    }
