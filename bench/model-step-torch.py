"""PyTorch side of `npm run bench:model`: one FluxPipeline denoising step (transformer forward + Euler
update) of a randomly initialised FluxTransformer2DModel, same config, token counts and threads as the
TypeScript side. argv[1] is a JSON job. Prints a JSON "ready" line with the versions, then serves one
timed step per "step" line on stdin (one JSON line with the seconds each), so the caller can interleave
its own steps with these ones and both sides see the same machine load.
"""
import json
import sys
import time

import diffusers
import torch
from diffusers import FluxTransformer2DModel


def main():
    job = json.loads(sys.argv[1])
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    config = job["config"]
    model = FluxTransformer2DModel(**config).eval()
    side = job["latent_side"] // 2
    image_tokens = side * side
    text_tokens = job["text_tokens"]
    latents = torch.randn(1, image_tokens, config["in_channels"])
    prompt = torch.randn(1, text_tokens, config["joint_attention_dim"])
    pooled = torch.randn(1, config["pooled_projection_dim"])
    img_ids = torch.zeros(image_tokens, 3)
    img_ids[:, 1] = torch.arange(side).repeat_interleave(side).float()
    img_ids[:, 2] = torch.arange(side).repeat(side).float()
    txt_ids = torch.zeros(text_tokens, 3)
    guidance = torch.full([1], 3.5)
    sigma, sigma_next = 1.0, 0.0

    def step():
        v = model(
            hidden_states=latents,
            encoder_hidden_states=prompt,
            pooled_projections=pooled,
            timestep=torch.full([1], sigma),
            guidance=guidance if config["guidance_embeds"] else None,
            img_ids=img_ids,
            txt_ids=txt_ids,
            return_dict=False,
        )[0]
        return latents + (sigma_next - sigma) * v

    with torch.inference_mode():
        step()  # warm-up
        print(json.dumps({"torch": torch.__version__, "diffusers": diffusers.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            if line.strip() != "step":
                break
            start = time.perf_counter()
            step()
            print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main()
