"""Diffusers' FlowMatchEulerDiscreteScheduler sigma/timestep tables for a set of (config, steps, mu) settings."""

import numpy as np
from diffusers import FlowMatchEulerDiscreteScheduler
from diffusers.pipelines.flux.pipeline_flux import calculate_shift

from cases import SigmaCase


def _mu(case: SigmaCase, scheduler: FlowMatchEulerDiscreteScheduler) -> float | None:
    if case.image_seq_len is None:
        return case.mu
    cfg = scheduler.config
    return calculate_shift(
        case.image_seq_len,
        cfg.get("base_image_seq_len", 256),
        cfg.get("max_image_seq_len", 4096),
        cfg.get("base_shift", 0.5),
        cfg.get("max_shift", 1.15),
    )


def sigma_table(case: SigmaCase) -> dict:
    scheduler = FlowMatchEulerDiscreteScheduler(**case.scheduler)
    mu = _mu(case, scheduler)
    # Exactly what FluxPipeline passes; other pipelines (SD3) let the scheduler build its own linspace.
    sigmas_in = np.linspace(1.0, 1 / case.steps, case.steps) if case.pipeline_sigmas else None
    scheduler.set_timesteps(num_inference_steps=None if sigmas_in is not None else case.steps, sigmas=sigmas_in, mu=mu)
    return {
        "name": case.name,
        "config": {k: v for k, v in sorted(scheduler.config.items()) if not k.startswith("_")},
        "num_inference_steps": case.steps,
        "image_seq_len": case.image_seq_len,
        "mu": mu,
        "sigmas_in": None if sigmas_in is None else [float(s) for s in sigmas_in],
        # float32 values, written as the exact decimal of each float32 (Python float repr of the widened value).
        "sigmas": [float(s) for s in scheduler.sigmas],
        "timesteps": [float(t) for t in scheduler.timesteps],
        "sigma_min": scheduler.sigma_min,
        "sigma_max": scheduler.sigma_max,
    }
