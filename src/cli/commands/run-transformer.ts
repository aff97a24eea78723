/**
 * `tessera run-transformer --model DIR --inputs in.safetensors -o out.safetensors`: one transformer
 * forward on a Diffusers checkpoint, for reference checks. Inputs are named as the Diffusers `forward`
 * arguments; the output is `sample`. Exit 0 on success, 1 when the checkpoint or inputs are wrong, 2 for
 * bad flags.
 */
import { parseArgs } from 'node:util';
import { type LoadedTransformer, loadTransformer, NamedTensors } from '../../runtime/model-loader/index.js';
import { localAttention } from '../../runtime/models/common/attention.js';
import type { Tensor } from '../../runtime/native/index.js';
import { writeSafetensors } from '../../runtime/native/safetensors-writer.js';
import { log } from '../../shared/log.js';
import { type Command, UsageError } from '../command.js';

const logger = log.child({ component: 'run-transformer' });

export const RUN_TRANSFORMER_USAGE = `usage: tessera run-transformer --model DIR --inputs IN.safetensors -o OUT.safetensors

Runs one forward of the checkpoint's transformer in f32.
Inputs, named as the Diffusers forward arguments, e.g.
  FluxTransformer2DModel: hidden_states [B,N_img,C], encoder_hidden_states [B,N_txt,J], pooled_projections [B,P],
        timestep [B] (sigma), guidance [B] (guidance_embeds only), img_ids [N_img,3], txt_ids [N_txt,3]
  SD3Transformer2DModel: hidden_states [B,C,H,W], encoder_hidden_states [B,N_txt,J], pooled_projections [B,P],
        timestep [B]
Output: sample.
`;

interface Options {
  model: string;
  inputs: string;
  output: string;
}

function parse(argv: readonly string[]): Options | 'help' {
  let values: { model?: string; inputs?: string; output?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        model: { type: 'string' },
        inputs: { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${RUN_TRANSFORMER_USAGE}`, { cause: err });
  }
  if (values.help) return 'help';
  for (const flag of ['model', 'inputs', 'output'] as const) {
    if (!values[flag]) throw new UsageError(`--${flag} is required\n\n${RUN_TRANSFORMER_USAGE}`);
  }
  return { model: values.model as string, inputs: values.inputs as string, output: values.output as string };
}

/** One forward over the named inputs → `sample`. */
export function runForward(loaded: LoadedTransformer, inputs: NamedTensors): Promise<Tensor> {
  const known = loaded.arch.family.forwardInputNames;
  const unknown = inputs.unknown(known);
  // Reference files carry the golden `sample` beside the inputs; anything unread is reported, not fatal.
  if (unknown.length > 0)
    logger.warn({ ignored: unknown, reads: known }, 'inputs file has tensors the forward does not read');
  return loaded.model.forwardNamed(inputs, localAttention);
}

export const runTransformerCommand: Command = {
  name: 'run-transformer',
  summary: 'run one transformer forward on a Diffusers checkpoint',
  async run(argv) {
    const options = parse(argv);
    if (options === 'help') {
      process.stdout.write(RUN_TRANSFORMER_USAGE);
      return 0;
    }
    try {
      const loaded = loadTransformer(options.model);
      const inputs = NamedTensors.read(options.inputs);
      const started = performance.now();
      const sample = await runForward(loaded, inputs);
      logger.info({ ms: Math.round(performance.now() - started), shape: sample.shape }, 'forward done');
      writeSafetensors(options.output, new Map([['sample', sample]]));
      return 0;
    } catch (err) {
      return reportFailure('run-transformer', err);
    }
  },
};

/**
 * How the runtime commands end on a failure that is the user's input (checkpoint, inputs file): the
 * message and its causes on stderr, exit 1. Programming errors (TypeError, ReferenceError) keep their stack.
 */
export function reportFailure(command: string, err: unknown): number {
  if (!(err instanceof Error)) throw err;
  if (err instanceof TypeError || err instanceof ReferenceError) throw err;
  const causes: string[] = [];
  let cause: unknown = err.cause;
  while (cause instanceof Error) {
    causes.push(cause.message);
    cause = cause.cause;
  }
  logger.child({ command }).debug({ err }, 'command failed');
  process.stderr.write(
    `tessera ${command}: ${err.message}\n${causes.map((c) => `  caused by: ${c}\n`).join('')}`,
  );
  return 1;
}
