/**
 * `tessera worker`: the pod's entry point (src/shared/runtime-contract.ts RUNTIME_COMMAND). Without
 * TESSERA_RANK it is the launcher: one worker process per rank the plan gives this pod, signals
 * forwarded, non-zero exit as soon as any worker dies. With TESSERA_RANK (set by the launcher) it is one
 * worker: rendezvous, checks, this rank's weights, the parallel denoiser. With `--inputs` the group runs
 * that one request and exits; without it (the operator's pods) it serves: rank 0 answers HTTP and every
 * rank loops over the leader's broadcast batches (src/runtime/serve-loop/).
 */
import { launchPod } from '../../runtime/launcher/launch.js';
import { runRankProcess } from '../../runtime/launcher/rank-mode.js';
import { parseWorkerArgs, WORKER_USAGE, WorkerArgsError } from '../../runtime/launcher/worker-args.js';
import { PlanMismatchError } from '../../runtime/parallel-denoise/checkpoint-fit.js';
import { loadedRequest } from '../../runtime/parallel-denoise/request-files.js';
import { EnvironmentError, RANK_ENV } from '../../runtime/rank/env-config.js';
import { reportRankFailure, reportUncaughtFailures } from '../../runtime/rank/failure-report.js';
import { PlanFileError } from '../../runtime/rank/plan-file.js';
import { serveRank } from '../../runtime/serve-loop/serve-rank.js';
import { type Command, UsageError } from '../command.js';
import { reportFailure } from './run-transformer.js';

/**
 * A worker process ends here, explicitly: after a failure its communicators' native threads may still be
 * blocked on dead peers, and at a natural exit the addon's communicator finalizers abort the process
 * during environment teardown (native/src/comm) — either would turn a clean result into a crash.
 */
function exitRank(code: number): never {
  process.exit(code);
}

export const workerCommand: Command = {
  name: 'worker',
  stdoutIsLog: true,
  summary: "a pod's entry point: launch one worker per GPU of the plan",
  async run(argv) {
    let args: ReturnType<typeof parseWorkerArgs>;
    try {
      args = parseWorkerArgs(argv);
    } catch (err) {
      if (err instanceof WorkerArgsError)
        throw new UsageError(`${err.message}\n\n${WORKER_USAGE}`, { cause: err });
      throw err;
    }
    if (args === 'help') {
      process.stdout.write(WORKER_USAGE);
      return 0;
    }
    const request = args.request;
    if (process.env[RANK_ENV.rank] === undefined) {
      try {
        const cli = process.argv[1];
        if (!cli) throw new EnvironmentError('cannot tell which program to start the workers with');
        const launched = await launchPod({
          env: process.env,
          workerCommand: process.execPath,
          workerArgs: [...process.execArgv, cli, 'worker', ...argv],
          device: args.device,
          serving: request === undefined,
        });
        return launched.code;
      } catch (err) {
        // What the pod was given (env, plan, devices, checkpoint) is wrong: one line says what.
        if (
          err instanceof EnvironmentError ||
          err instanceof PlanFileError ||
          err instanceof PlanMismatchError
        ) {
          process.stderr.write(`tessera worker: ${err.message}\n`);
          return 1;
        }
        return reportFailure('worker', err);
      }
    }
    // A rank: whatever ends it (any phase, any error class, awaited or not) reaches the launcher.
    reportUncaughtFailures(process.env);
    try {
      if (!request) exitRank(await serveRank(process.env, { modelPath: args.model, device: args.device }));
      await runRankProcess(process.env, {
        modelPath: args.model,
        device: args.device,
        request: loadedRequest(request),
        statsDir: args.statsDir,
      });
      exitRank(0);
    } catch (err) {
      exitRank(reportRankFailure(process.env, err));
    }
  },
};
