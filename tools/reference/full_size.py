"""Tensor names and shapes of the released full-size transformers, built on torch's meta device (no memory,
no weights): the TypeScript manifests must reproduce them exactly. Stored as count + SHA-256 of the
sorted "name [d0,d1,...]" lines, so the fixture stays small."""

import hashlib

import torch
from diffusers import FluxTransformer2DModel, SD3Transformer2DModel

from cases import FULL_SIZE_CONFIGS


def canonical_lines(model: torch.nn.Module) -> list[str]:
    return sorted(f"{name} [{','.join(str(d) for d in t.shape)}]" for name, t in model.state_dict().items())


def full_size_manifests() -> dict:
    out = {}
    for name, (family, config) in FULL_SIZE_CONFIGS.items():
        cls = FluxTransformer2DModel if family == "flux" else SD3Transformer2DModel
        with torch.device("meta"):
            model = cls(**config)
        lines = canonical_lines(model)
        out[name] = {
            "class": cls.__name__,
            "config": config,
            "tensor_count": len(lines),
            "parameter_count": sum(p.numel() for p in model.parameters()),
            "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
            "first_lines": lines[:3],
        }
    return out
