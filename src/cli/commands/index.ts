import { type Command, notBuiltYet } from '../command.js';
import { demo } from './demo.js';
import { operatorCommand } from './operator.js';
import { planCommand } from './plan.js';

/**
 * The subcommand table. Each entry lives in its own module; replace a `notBuiltYet` line with the real
 * command when it lands.
 */
export const commands: readonly Command[] = [
  planCommand,
  operatorCommand,
  notBuiltYet('worker', "a pod's entry point: launch one worker per GPU of the plan", 8),
  notBuiltYet('run-transformer', 'run one transformer forward on a Diffusers checkpoint', 7),
  notBuiltYet('denoise', 'run the denoising loop, one process or a local parallel group', 7),
  demo,
];
