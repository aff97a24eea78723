import type { Command } from '../command.js';
import { demo } from './demo.js';
import { denoiseCommand } from './denoise.js';
import { fetchModelCommand } from './fetch-model.js';
import { generateCommand } from './generate.js';
import { operatorCommand } from './operator.js';
import { planCommand } from './plan.js';
import { runTransformerCommand } from './run-transformer.js';
import { workerCommand } from './worker.js';

/** The subcommand table. Each entry lives in its own module. */
export const commands: readonly Command[] = [
  planCommand,
  operatorCommand,
  workerCommand,
  runTransformerCommand,
  denoiseCommand,
  generateCommand,
  fetchModelCommand,
  demo,
];
