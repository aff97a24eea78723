/**
 * `tessera fetch-model`: the init container of a group pod whose model comes from a hub
 * (spec.model.source.hub). Flags name the repository; the token comes from HF_TOKEN (the operator sets it
 * from tokenSecretRef); with the plan and pod index of the env contract only this pod's share of the
 * transformer is fetched.
 */
import { parseArgs } from 'node:util';
import { fetchModel } from '../../runtime/hub/fetch-model.js';
import { HubError } from '../../runtime/hub/hub-error.js';
import { TERMINATION_LOG, writeTerminationMessage } from '../../runtime/hub/termination-message.js';
import { readPlanFile } from '../../runtime/rank/plan-file.js';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';
import { type Command, UsageError } from '../command.js';

export const FETCH_MODEL_USAGE = `usage: tessera fetch-model --repository OWNER/NAME --dest DIR [options]

Downloads a Diffusers repository from a Hugging Face–compatible hub into DIR: only model_index.json and
the components it lists (safetensors), with a plan only this pod's PipeFusion stages of the transformer;
resumes unfinished files, checks sizes and hashes against the hub's metadata, keeps what is already there.

  --repository OWNER/NAME   the repository
  --revision REV            branch, tag or commit (default: main)
  --endpoint URL            the hub (default: https://huggingface.co)
  --dest DIR                the model folder (default: $${RUNTIME_ENV.modelPath})
  --plan FILE               the group's plan (default: $${RUNTIME_ENV.planPath} when set)
  --pod-index N             this pod in its group (default: $${RUNTIME_ENV.podIndex} when set)
  --retries N               attempts after a dropped connection, per file (default: 8)
  --termination-log FILE    where a failure's '<reason>: <message>' goes for the kubelet
                            (default: /dev/termination-log)
Token: HF_TOKEN in the environment, if the repository needs one.
`;

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a whole number >= 0, got ${value}`);
  return n;
}

export const fetchModelCommand: Command = {
  name: 'fetch-model',
  stdoutIsLog: true,
  summary: "download a Diffusers repository from a hub (a hub-sourced pod's init container)",
  async run(argv) {
    let values: Record<string, string | boolean | undefined>;
    try {
      values = parseArgs({
        args: [...argv],
        options: {
          repository: { type: 'string' },
          revision: { type: 'string', default: 'main' },
          endpoint: { type: 'string', default: 'https://huggingface.co' },
          dest: { type: 'string' },
          plan: { type: 'string' },
          'pod-index': { type: 'string' },
          retries: { type: 'string' },
          'termination-log': { type: 'string', default: TERMINATION_LOG },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      }).values;
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\n\n${FETCH_MODEL_USAGE}`);
    }
    if (values.help) {
      process.stdout.write(FETCH_MODEL_USAGE);
      return 0;
    }
    const env = process.env;
    const repository = values.repository as string | undefined;
    const folder = (values.dest as string | undefined) ?? env[RUNTIME_ENV.modelPath];
    if (!repository) throw new UsageError(`--repository is required\n\n${FETCH_MODEL_USAGE}`);
    if (!folder) throw new UsageError(`--dest (or ${RUNTIME_ENV.modelPath}) is required`);
    const planPath = (values.plan as string | undefined) ?? env[RUNTIME_ENV.planPath];
    const podIndex = integer(
      (values['pod-index'] as string | undefined) ?? env[RUNTIME_ENV.podIndex],
      '--pod-index',
    );
    const retries = integer(values.retries as string | undefined, '--retries');
    const token = env.HF_TOKEN?.trim() || undefined;
    const report = (line: string) => process.stdout.write(`fetch-model: ${line}\n`);
    try {
      await fetchModel({
        location: {
          endpoint: values.endpoint as string,
          repository,
          revision: values.revision as string,
          ...(token ? { token } : {}),
        },
        folder,
        ...(planPath && podIndex !== undefined ? { share: { plan: readPlanFile(planPath), podIndex } } : {}),
        report,
        ...(retries !== undefined ? { retries } : {}),
      });
      return 0;
    } catch (err) {
      const summary =
        err instanceof HubError
          ? err.summary()
          : `HubProtocolError: ${(err as Error).message ?? String(err)}`;
      process.stderr.write(`tessera fetch-model: ${summary}\n`);
      writeTerminationMessage(summary, values['termination-log'] as string);
      return 1;
    }
  },
};
