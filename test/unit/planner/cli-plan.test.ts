import { Resvg } from '@resvg/resvg-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../../src/cli/command.js';
import { planCommand } from '../../../src/cli/commands/plan.js';
import { parseDegrees, parsePlanArgs } from '../../../src/cli/plan-args.js';

/** Runs `tessera plan` in-process and captures what it writes. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    const code = await planCommand.run(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('tessera plan', () => {
  it('prints a readable table by default', async () => {
    const r = await run('flux-dev', '--gpus', '4');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^model {5}flux-dev: flux, 57 blocks, 24 heads × 128/);
    expect(r.out).toMatch(/chosen {4}dp1·cfg1·pp\d·r\d·u\d/);
    expect(r.out).toContain('candidates (');
    expect(r.out).toContain('rejected (');
    expect(r.out).toContain('cfg=2 needs true classifier-free guidance');
  });

  it('states the approximate policy: exact first by default, --approximate and its margin', async () => {
    const byDefault = await run('flux-dev', '--gpus', '4', '--gpu', 'H100');
    expect(byDefault.out).toMatch(/chosen {4}dp1·cfg1·pp1·/);
    expect(byDefault.out).toContain('exact first: the best approximate plan');
    const prefer = await run(
      'flux-dev',
      '--gpus',
      '4',
      '--approximate',
      'prefer',
      '--approximate-margin',
      '50',
    );
    expect(prefer.out).toMatch(/chosen {4}dp1·cfg1·pp[248]·/);
    expect(prefer.out).toContain('prefer approximate');
    const forbid = await run('flux-dev', '--gpus', '4', '--approximate', 'forbid', '-o', 'json');
    expect(JSON.parse(forbid.out).chosen.degrees.pipefusion).toBe(1);
    expect(() => parsePlanArgs(['flux-dev', '--approximate', 'sometimes'])).toThrow(
      new UsageError("--approximate must be one of exact-first, prefer, forbid, got 'sometimes'"),
    );
    expect(() => parsePlanArgs(['flux-dev', '--approximate', 'prefer', '--no-pipefusion'])).toThrow(
      /--no-pipefusion contradicts --approximate prefer/,
    );
    const parsed = parsePlanArgs(['flux-dev', '--approximate-margin', '25']);
    expect(parsed !== 'help' && parsed.input.policy.approximate).toEqual({
      rule: 'exact-first',
      margin: 0.25,
    });
  });

  it('plans FLUX.1-dev at 4096² on 2 nodes × 8 L40 over 100 Gbit/s (xDiT ran it; the text encoders and a whole-image VAE decode on every GPU made it infeasible before)', async () => {
    const r = await run(
      'flux-dev',
      ...['--gpus', '16', '--gpus-per-node', '8', '--gpu', 'L40', '--height', '4096', '--width', '4096'],
      ...['--inter-node-gbps', '100', '-o', 'json'],
    );
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as {
      chosen: {
        gpusPerGroup: number;
        podsPerGroup: number;
        reason: string;
        memory: { total: number; rank: number };
      };
    };
    expect(json.chosen.gpusPerGroup).toBe(16);
    expect(json.chosen.podsPerGroup).toBe(2);
    expect(json.chosen.memory.total).toBeLessThanOrEqual(48e9 * 0.95);
    console.log(`tessera plan flux-dev 4096² 2×8 L40: ${json.chosen.reason}`);
  });

  it('puts the chosen degrees under chosen.degrees in JSON', async () => {
    const r = await run('sd3-medium', '--gpus', '8', '--no-pipefusion', '-o', 'json');
    const json = JSON.parse(r.out) as { chosen: { degrees: Record<string, number>; ranks: unknown[] } };
    expect(Object.keys(json.chosen.degrees).sort()).toEqual([
      'cfg',
      'dataParallel',
      'pipefusion',
      'ring',
      'ulysses',
    ]);
    const d = json.chosen.degrees;
    expect(
      (d.dataParallel ?? 0) * (d.cfg ?? 0) * (d.pipefusion ?? 0) * (d.ring ?? 0) * (d.ulysses ?? 0),
    ).toBe(8);
    expect(d.pipefusion).toBe(1);
    expect(json.chosen.ranks).toHaveLength(8);
  });

  it('takes explicit facts and hardware flags', async () => {
    const r = await run(
      '--family',
      'flux',
      '--layers',
      '20',
      '--heads',
      '16',
      '--head-dim',
      '64',
      '--text-tokens',
      '0',
      '--no-cfg',
      '--image-tokens',
      '1024',
      '--gpus',
      '2',
      '--gpu',
      'l40s',
      '--intra-node',
      'pcie',
      '-o',
      'json',
    );
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as {
      chosen: { model: { layers: number; heads: number; usesCfg: boolean } };
    };
    expect(json.chosen.model).toMatchObject({ layers: 20, heads: 16, usesCfg: false });
  });

  it('explains a rejected manual plan on stderr and exits 1', async () => {
    const r = await run('flux-dev', '--degrees', 'u5', '--height', '960', '--width', '960');
    expect(r.code).toBe(1);
    expect(r.err).toContain('ulysses=5 does not divide heads=24 of flux-dev');
  });

  it('rejects bad flags naming the flag and the fix', () => {
    expect(() => parsePlanArgs(['flux-dev', '--gpus', 'x'])).toThrow(
      new UsageError("--gpus must be an integer ≥ 1, got 'x'"),
    );
    expect(() => parsePlanArgs(['flux-dev', '--intra-node', 'ib'])).toThrow(
      /--intra-node must be one of nvlink, pcie/,
    );
    expect(() => parsePlanArgs(['flux-dev', '--gpu', 'rtx-2080'])).toThrow(
      /--gpu 'rtx-2080' is unknown; known: /,
    );
    expect(() => parsePlanArgs(['--layers', '4'])).toThrow(
      /give a MODEL .* or at least --layers, --heads and --head-dim/,
    );
    expect(() => parsePlanArgs(['no-such-model'])).toThrow(
      /neither a preset .* nor an existing Diffusers folder/,
    );
    expect(() => parsePlanArgs(['flux-dev', '--gpu', 'l40', '--intra-node', 'nvlink'])).toThrow(
      /has no NVLink/,
    );
    expect(() => parseDegrees('dp=1,x=2')).toThrow(/cannot read 'x=2'/);
    expect(parseDegrees('dp1·cfg2·pp1·r1·u4')).toEqual({
      dataParallel: 1,
      cfg: 2,
      pipefusion: 1,
      ring: 1,
      ulysses: 4,
    });
  });

  it('draws an SVG that renders to a non-blank PNG of its stated size', async () => {
    const r = await run('sd3-medium', '--gpus', '16', '--gpu', 'h100', '-o', 'svg');
    expect(r.code).toBe(0);
    const size = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(r.out);
    expect(size).not.toBeNull();
    const png = new Resvg(r.out, { font: { loadSystemFonts: false } }).render();
    expect(png.width).toBe(Number(size?.[1]));
    expect(png.height).toBe(Number(size?.[2]));
    expect(png.width).toBeGreaterThan(300);
    expect(png.height).toBeGreaterThan(150);
    expect(png.asPng().subarray(1, 4).toString('ascii')).toBe('PNG');
    // Not blank: a real share of pixels differs from the white background, in more than two colours.
    const px = png.pixels;
    let inked = 0;
    const colours = new Set<number>();
    for (let i = 0; i < px.length; i += 4) {
      const rgb = ((px[i] ?? 0) << 16) | ((px[i + 1] ?? 0) << 8) | (px[i + 2] ?? 0);
      if (rgb !== 0xffffff) inked++;
      if (colours.size < 64) colours.add(rgb);
    }
    expect(inked / (px.length / 4)).toBeGreaterThan(0.05);
    expect(colours.size).toBeGreaterThan(4);
    // Both pods and every rank are drawn.
    expect(r.out).toContain('node / pod 1');
    expect(r.out).toContain('rank 15');
  });
});
