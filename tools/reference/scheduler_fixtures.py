"""DPMSolverMultistepScheduler (PixArt-Σ's scheduler) goldens: the timesteps and sigmas set_timesteps gives,
and `step` trajectories over seeded model outputs, for the released PixArt-Σ config and variants of it."""

import torch
from diffusers import DPMSolverMultistepScheduler

# PixArt-Σ-XL-2-1024-MS scheduler/scheduler_config.json (the keys it sets).
PIXART_SIGMA_SCHEDULER = {
    "algorithm_type": "dpmsolver++",
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "dynamic_thresholding_ratio": 0.995,
    "euler_at_final": False,
    "lower_order_final": True,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "solver_order": 2,
    "solver_type": "midpoint",
    "steps_offset": 0,
    "thresholding": False,
    "timestep_spacing": "linspace",
    "trained_betas": None,
    "use_karras_sigmas": False,
    "use_lu_lambdas": False,
    "variance_type": None,
}
VARIANTS = {
    "pixart-sigma": {},
    "order1": {"solver_order": 1},
    "heun": {"solver_type": "heun"},
    "v-prediction": {"prediction_type": "v_prediction"},
    "sample-prediction": {"prediction_type": "sample"},
    "leading-offset1": {"timestep_spacing": "leading", "steps_offset": 1},
    "trailing": {"timestep_spacing": "trailing"},
    "sigma-min-final": {"final_sigmas_type": "sigma_min"},
    "scaled-linear": {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
    "no-lower-order-final": {"lower_order_final": False, "final_sigmas_type": "sigma_min"},
    "train-500": {"num_train_timesteps": 500},
}
STEPS = [1, 2, 4, 7, 20]
TRAJECTORY_SHAPE = [1, 2, 2, 2]


def scheduler_goldens() -> dict:
    cases = []
    for name, change in VARIANTS.items():
        config = {**PIXART_SIGMA_SCHEDULER, **change}
        for steps in STEPS:
            sched = DPMSolverMultistepScheduler(**config)
            sched.set_timesteps(steps)
            gen = torch.Generator().manual_seed(1000 + steps)
            sample = torch.randn(TRAJECTORY_SHAPE, generator=gen)
            start = sample.clone()
            outputs, trajectory = [], []
            for t in sched.timesteps:
                out = torch.randn(TRAJECTORY_SHAPE, generator=gen)
                sample = sched.step(out, t, sample, return_dict=False)[0]
                outputs.append(out.flatten().tolist())
                trajectory.append(sample.flatten().tolist())
            cases.append({
                "name": f"{name}-n{steps}", "config": config, "steps": steps,
                "timesteps": [int(t) for t in sched.timesteps], "sigmas": [float(s) for s in sched.sigmas],
                "shape": TRAJECTORY_SHAPE, "sample": start.flatten().tolist(), "model_outputs": outputs,
                "trajectory": trajectory,
            })
    return {"class": "DPMSolverMultistepScheduler", "cases": cases}
