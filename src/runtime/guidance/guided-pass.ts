/**
 * Guidance around a model forward, for every loop and every family: one branch as it is; classifier-free
 * guidance either with both branches in one batch [uncond; cond] on this rank, or — CFG parallel
 * (xdit.md §3.7) — each CFG rank running one branch and one all-gather over the CFG axis bringing
 * [uncond; cond] to both, which then combine them redundantly (so their latents stay identical).
 */
import type { Conditioning, FamilyRequest } from '../families/family.js';
import { ops, type Tensor } from '../native/index.js';

export class CfgParallelError extends Error {
  override readonly name = 'CfgParallelError';
}

/** This rank's place on the CFG axis, and the all-gather over it ([mine of rank 0; mine of rank 1]). */
export interface CfgAxis {
  readonly degree: number;
  readonly rank: number;
  gather(mine: Tensor): Promise<Tensor>;
}

/** What this rank runs each step: the conditioning of its forward and how its output becomes the guided one. */
export interface GuidedPass {
  readonly conditioning: Conditioning;
  /** Copies of the latents in this rank's batch: 2 when it runs both branches. */
  readonly copies: 1 | 2;
  /** Batch of this rank's forward. */
  readonly batch: number;
  /** The guided output from this rank's forward output (which the caller still owns). */
  combine(out: Tensor): Promise<Tensor>;
  /** Frees what the pass built (the batched conditioning). */
  release(): void;
}

/**
 * `both` is the output over [uncond; cond] (first half unconditional) → the guided half, computed where
 * `both` lives (ops.guidanceCombine: on the CPU the bits of true-cfg.ts's combineGuidance).
 */
export function classifierFreeGuidance(both: Tensor, scale: number): Tensor {
  const batch = both.size(0);
  if (batch % 2 !== 0) throw new Error(`CFG needs an even batch [uncond; cond], got ${batch}`);
  const [uncond, cond] = both.split(2, 0) as [Tensor, Tensor];
  try {
    return ops.guidanceCombine(uncond, cond, scale);
  } finally {
    uncond.release();
    cond.release();
  }
}

function concatBranches(uncond: Conditioning, cond: Conditioning): Conditioning {
  const out: Record<string, Tensor> = {};
  for (const [name, u] of Object.entries(uncond)) {
    const c = cond[name];
    if (!c) throw new Error(`CFG: the conditional branch has no ${name}, which the unconditional one has`);
    out[name] = ops.concat([u, c], 0);
  }
  return out;
}

/** The pass of `request` on this rank; `cfg` is null in one process (CFG degree 1). */
export function guidedPass(request: FamilyRequest, cfg: CfgAxis | null): GuidedPass {
  const degree = cfg?.degree ?? 1;
  const { guidance, branches, batch } = request;
  if (guidance.kind === 'none') {
    if (degree !== 1) {
      throw new CfgParallelError(
        `CFG parallel (cfg = ${degree}) needs classifier-free guidance, but ${guidance.why}`,
      );
    }
    const [only] = branches;
    if (!only) throw new Error('the request has no conditioning branch');
    return { conditioning: only, copies: 1, batch, combine: async (out) => out, release: () => undefined };
  }
  const [uncond, cond] = branches;
  if (!uncond || !cond) throw new Error('classifier-free guidance needs [uncond, cond] branches');
  const { scale } = guidance;
  if (cfg && degree === 2) {
    const mine = cfg.rank === 1 ? cond : uncond;
    return {
      conditioning: mine,
      copies: 1,
      batch,
      combine: async (out) => {
        const both = await cfg.gather(out);
        const guided = classifierFreeGuidance(both, scale);
        both.release();
        return guided;
      },
      release: () => undefined,
    };
  }
  if (degree !== 1) throw new CfgParallelError(`CFG parallel is 1 or 2 ranks, got ${degree}`);
  const conditioning = concatBranches(uncond, cond);
  return {
    conditioning,
    copies: 2,
    batch: 2 * batch,
    combine: async (out) => classifierFreeGuidance(out, scale),
    release: () => {
      for (const t of Object.values(conditioning)) t.release();
    },
  };
}

/** The latents of this rank's forward: the latents, or [latents; latents] when it runs both branches. */
export function passLatents(pass: GuidedPass, latents: Tensor): Tensor {
  return pass.copies === 2 ? ops.concat([latents, latents], 0) : latents;
}
