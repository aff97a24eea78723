/**
 * `npm run bench:png`: the PNG stage of prompt-to-image at a real size — one 1024×1024 RGB8 image
 * encoded by Tessera's writer (Node's native zlib, the default `up` filter, and the other row filters),
 * by fast-png (its JavaScript deflate, at its default level 3 and at 6) and by PIL (Image.save, the same
 * zlib level), in the same process order each round. Prints the load, then per encoder the median and
 * best time, the file size and the ratio PIL / encoder (> 1: faster than PIL), and whether PIL reads
 * Tessera's files back to the same pixels.
 *
 * The image stands in for a VAE's output: smooth colour gradients and waves with ±4 levels of
 * seeded noise (a decoded image's fine texture), so the filters and deflate see realistic data.
 *
 * Options (env): BENCH_REPEATS (default 7), BENCH_SIZE (WxH, default 1024x1024), BENCH_LEVEL (zlib level,
 * default 6: PIL's and libpng's), BENCH_PYTHON (a python with Pillow; default: the one
 * tools/reference/venv.sh prints), BENCH_SKIP_PIL=1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encode } from 'fast-png';
import type { RgbImage } from '../src/runtime/pipeline/image/pixels.js';
import { encodePng, type PngFilter } from '../src/runtime/pipeline/image/png.js';
import { loadLine } from './support/machine.js';
import { referencePython } from './support/torch-side.js';

const ROOT = resolve(import.meta.dirname, '..');
const repeats = Number(process.env.BENCH_REPEATS ?? 7);
const [width, height] = (process.env.BENCH_SIZE ?? '1024x1024').split('x').map(Number) as [number, number];
const level = Number(process.env.BENCH_LEVEL ?? 6);
const TEXT = { prompt: 'a lighthouse on a cliff at dawn, oil painting', seed: '3', steps: '28' };

function syntheticImage(): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let state = 7;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      const base = [
        180 * u + 40 * Math.sin(6 * v + 3 * u),
        120 + 80 * Math.sin(4 * u * v * Math.PI),
        200 * (1 - v) + 30 * Math.cos(9 * u),
      ];
      for (let c = 0; c < 3; c++) {
        const i = (y * width + x) * 3 + c;
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        const jitter = Math.round((state / 2 ** 32 - 0.5) * 8);
        data[i] = Math.max(0, Math.min(255, Math.round(base[c] as number) + jitter));
      }
    }
  }
  return { width, height, data };
}

interface Encoder {
  name: string;
  run: (image: RgbImage) => Uint8Array;
}

const ours = (filter: PngFilter): Encoder => ({
  name: `Tessera (node:zlib, filter ${filter})`,
  run: (image) => encodePng(image, TEXT, { level, filter }),
});
const fastPng = (zlibLevel: number): Encoder => ({
  name: `fast-png (fflate, level ${zlibLevel}, no filter)`,
  run: (image) =>
    encode(
      { width: image.width, height: image.height, data: image.data, channels: 3, depth: 8, text: TEXT },
      { zlib: { level: zlibLevel as 3 } },
    ),
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (x: number) => `${x.toFixed(1)} ms`;

function pilSide(image: RgbImage, dir: string, files: Record<string, string>) {
  if (process.env.BENCH_SKIP_PIL === '1') return 'skipped (BENCH_SKIP_PIL=1)';
  const python = referencePython();
  if (!python.ok) return python.why;
  const raw = join(dir, 'image.rgb');
  writeFileSync(raw, image.data);
  const job = { raw, width, height, level, repeats, ours: files };
  const out = execFileSync(python.path, [resolve(ROOT, 'bench/png-pil.py'), JSON.stringify(job)], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as {
    pillow: string;
    ms: number[];
    bytes: number;
    reads_ours: Record<string, boolean>;
  };
}

function main(): void {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`PNG encoding of one ${width}x${height} RGB8 image, zlib level ${level}, ${repeats} rounds`);
  say(loadLine());
  const image = syntheticImage();
  const encoders = [ours('up'), ours('adaptive'), ours('none'), ours('paeth'), fastPng(3), fastPng(level)];
  const times = new Map<string, number[]>(encoders.map((e) => [e.name, []]));
  const sizes = new Map<string, number>();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-png-'));
  try {
    const files: Record<string, string> = {};
    for (let round = 0; round < repeats + 1; round++) {
      for (const e of encoders) {
        const t = performance.now();
        const png = e.run(image);
        const elapsed = performance.now() - t;
        // Round 0 warms the JIT up and is not counted.
        if (round > 0) times.get(e.name)?.push(elapsed);
        sizes.set(e.name, png.length);
        if (round === 0 && e.name.startsWith('Tessera')) {
          const file = join(dir, `${Object.keys(files).length}.png`);
          writeFileSync(file, png);
          files[e.name] = file;
        }
      }
    }
    const pil = pilSide(image, dir, files);
    const pilMedian = typeof pil === 'string' ? undefined : median(pil.ms);
    say('');
    say('| encoder | median | best | bytes | PIL / encoder (median) |');
    say('| --- | --- | --- | --- | --- |');
    for (const e of encoders) {
      const t = times.get(e.name) ?? [];
      const ratio = pilMedian === undefined ? 'n/a' : (pilMedian / median(t)).toFixed(2);
      say(`| ${e.name} | ${ms(median(t))} | ${ms(Math.min(...t))} | ${sizes.get(e.name)} | ${ratio} |`);
    }
    if (typeof pil === 'string') {
      say(`| PIL | ${pil} | | | |`);
    } else {
      say(
        `| PIL ${pil.pillow} (Image.save, compress_level ${level}) | ${ms(median(pil.ms))} | ${ms(Math.min(...pil.ms))} | ${pil.bytes} | 1.00 |`,
      );
      say('');
      for (const [name, same] of Object.entries(pil.reads_ours)) {
        say(`PIL reads ${name}'s file back to the same pixels: ${same ? 'yes' : 'NO'}`);
      }
    }
    say(loadLine());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
