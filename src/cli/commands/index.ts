import { type Command, notBuiltYet } from '../command.js';
import { demo } from './demo.js';
import { operatorCommand } from './operator.js';

/**
 * The subcommand table. Each entry lives in its own module; replace a `notBuiltYet` line with the real
 * command when it lands.
 */
export const commands: readonly Command[] = [
  notBuiltYet('plan', 'choose hybrid-parallel degrees for a model on a cluster', 4),
  operatorCommand,
  notBuiltYet('worker', "a pod's entry point: launch one worker per GPU of the plan", 8),
  notBuiltYet('run-transformer', 'run one transformer forward on a Diffusers checkpoint', 7),
  notBuiltYet('denoise', 'run the denoising loop, one process or a local parallel group', 7),
  demo,
];
