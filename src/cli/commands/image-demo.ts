/**
 * The demo's end: a PNG from a prompt on the generated tiny FLUX-like pipeline (tokenizers, CLIP and T5
 * encoders, seeded noise, a Ulysses-2 group of 2 local CPU ranks over gloo, the VAE), made by
 * `tessera generate` as a person runs it. The weights are seeded random values, so the picture is
 * noise-like; every stage of the pipeline is the real one.
 */
import { join, resolve } from 'node:path';
import { writeTinyPipeline } from '../../runtime/pipeline/tiny/tiny-pipeline.js';
import { generateCommand } from './generate.js';

const PROMPT = 'a lighthouse on a cliff at dawn, oil painting';

export async function runImageDemo(say: (line?: string) => void, workDir: string): Promise<number> {
  const model = writeTinyPipeline(join(workDir, 'tiny-pipeline'));
  const output = resolve(workDir, 'lighthouse.png');
  say(`Prompt to image on a tiny generated FLUX-like pipeline (${model}):`);
  say(`  "${PROMPT}" → tokenizers → CLIP + T5 → seeded noise → u2 group of 2 CPU ranks → VAE → PNG`);
  const args = ['--model', model, '--prompt', PROMPT, '--size', '96x64', '--steps', '4', '--seed', '3'];
  const code = await generateCommand.run([...args, '--ulysses', '2', '-o', output]);
  if (code !== 0) {
    say(`tessera generate failed (exit ${code}); the reason is on stderr above.`);
    return code;
  }
  say(`The image is at ${output} (seeded random weights: noise-like colours, from the real pipeline).`);
  return 0;
}
