"""PyTorch side of `npm run bench:pipeline`: Diffusers' FluxPipeline on the tiny generated pipeline folder
(argv[1] is a JSON job: folder, prompt, size, steps, guidance, seed, threads), split into the stages the
TypeScript side times — tokenize (both tokenizers), encode (CLIP + T5), noise, denoise (the pipeline's
loop from the embeddings and latents, output_type="latent"), decode (unpack, VAE, 8-bit image) and PNG.
Prints a JSON line with the versions once warmed up, then serves one timed round per "round" line on
stdin (one JSON line of seconds per stage), so the caller can interleave its rounds with these.
"""
import io
import json
import sys
import time

import diffusers
import torch
from diffusers import FluxPipeline


def main():
    job = json.loads(sys.argv[1])
    torch.set_num_threads(job["threads"])
    pipe = FluxPipeline.from_pretrained(job["folder"], torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    prompt, height, width = job["prompt"], job["height"], job["width"]
    max_len = job["max_sequence_length"]

    def round_():
        times = {}
        t = time.perf_counter()
        clip_ids = pipe.tokenizer([prompt], padding="max_length", max_length=pipe.tokenizer_max_length,
                                  truncation=True, return_tensors="pt").input_ids
        t5_ids = pipe.tokenizer_2([prompt], padding="max_length", max_length=max_len, truncation=True,
                                  return_tensors="pt").input_ids
        times["tokenize"] = time.perf_counter() - t
        t = time.perf_counter()
        pooled = pipe.text_encoder(clip_ids, output_hidden_states=False).pooler_output
        embeds = pipe.text_encoder_2(t5_ids, output_hidden_states=False)[0]
        times["encode"] = time.perf_counter() - t
        t = time.perf_counter()
        generator = torch.Generator("cpu").manual_seed(job["seed"])
        channels = pipe.transformer.config.in_channels // 4
        latents, _ = pipe.prepare_latents(1, channels, height, width, torch.float32, "cpu", generator)
        times["noise"] = time.perf_counter() - t
        t = time.perf_counter()
        out = pipe(prompt_embeds=embeds, pooled_prompt_embeds=pooled, latents=latents, height=height,
                   width=width, num_inference_steps=job["steps"], guidance_scale=job["guidance_scale"],
                   max_sequence_length=max_len, output_type="latent").images
        times["denoise"] = time.perf_counter() - t
        t = time.perf_counter()
        z = pipe._unpack_latents(out, height, width, pipe.vae_scale_factor)
        z = z / pipe.vae.config.scaling_factor + pipe.vae.config.shift_factor
        image = pipe.image_processor.postprocess(pipe.vae.decode(z, return_dict=False)[0], output_type="pil")[0]
        times["decode"] = time.perf_counter() - t
        t = time.perf_counter()
        image.save(io.BytesIO(), format="PNG")
        times["png"] = time.perf_counter() - t
        return times

    with torch.inference_mode():
        round_()  # warm-up
        print(json.dumps({"torch": torch.__version__, "diffusers": diffusers.__version__,
                          "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            if line.strip() != "round":
                break
            print(json.dumps(round_()), flush=True)


if __name__ == "__main__":
    main()
