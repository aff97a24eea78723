/**
 * Rank 0's side of the serve loop: the GroupDenoise and GroupDecode the serving executor calls. Each
 * batch is broadcast to every rank (header, then tensors) and denoised by all of them together; the
 * leader's share of the parallel denoise returns the whole batch. Latents to decode into images go to
 * the VAE ranks the same way. While idle, the leader broadcasts heartbeats so that waiting
 * ranks never hit the collective timeout between requests and a dead peer is found between requests too.
 * Any communicator failure is fatal for the group: `onFatal` takes the leader out of service.
 */
import type { Logger } from '../../shared/log.js';
import type { Communicator } from '../comm/index.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import type { Tensor } from '../native/index.js';
import type { RankDecoder } from '../parallel/replica-decoder.js';
import type { RgbImage } from '../pipeline/image/pixels.js';
import type { GroupDenoiseOptions } from '../serving/index.js';
import { LeaderChannel, tensorHeaders } from './group-channel.js';
import { inputTensors } from './group-message.js';
import type { RankModel } from './rank-model.js';

export interface GroupLeaderOptions {
  /** Idle time after which a heartbeat goes out; well below the collective timeout. */
  heartbeatMs: number;
  logger: Logger;
  /** The group is broken (called once): mark the server not ready and end the process. */
  onFatal: (reason: string, cause: unknown) => void;
}

export class GroupLeader {
  private readonly channel: LeaderChannel;
  private readonly heartbeat: NodeJS.Timeout;
  private lastSent = performance.now();
  private busy = false;
  private stopped = false;
  private failed = false;
  private runs = 0;

  constructor(
    private readonly model: RankModel,
    private readonly decoder: RankDecoder,
    world: Communicator,
    private readonly options: GroupLeaderOptions,
  ) {
    this.channel = new LeaderChannel(world);
    this.heartbeat = setInterval(() => this.beatIfIdle(), Math.max(50, Math.floor(options.heartbeatMs / 2)));
  }

  /** The GroupDenoise of the serving executor (also used for the warm-up run). */
  readonly denoise = (
    inputs: DenoiseInputs,
    options: GroupDenoiseOptions,
    _signal: AbortSignal,
  ): Promise<Tensor> =>
    // The abort signal is not honoured: stopping every rank at the same step would need another
    // collective per step; the run finishes and its answer is dropped (docs/serving.md).
    this.channel.exclusive(async () => {
      if (this.stopped) throw new Error('the group is shutting down');
      this.busy = true;
      const requestId = options.requestIds?.join(',') || `run-${++this.runs}`;
      const tensors = inputTensors(inputs);
      try {
        await this.channel.send(
          {
            kind: 'run',
            family: inputs.family,
            requestId,
            steps: options.steps,
            guidanceScale: options.guidanceScale,
            seeds: [...options.seeds],
            tensors: tensorHeaders(tensors),
          },
          tensors,
        );
        const result = await this.model.denoise(inputs, {
          requestId,
          steps: options.steps,
          guidanceScale: options.guidanceScale,
        });
        if (!result) throw new Error('rank 0 leads the group but the parallel denoise returned no latents');
        return result;
      } catch (err) {
        this.fail(`run ${requestId} failed: ${(err as Error).message}`, err);
        throw err;
      } finally {
        this.busy = false;
        this.lastSent = performance.now();
      }
    });

  /**
   * The GroupDecode of the serving executor: latents [B, C, h, w] → B images, each replica decoding its
   * share patch-parallel over its VAE ranks (the latents are broadcast first when other ranks decode).
   */
  readonly decode = (latents: Tensor, requestId: string): Promise<RgbImage[]> =>
    this.channel.exclusive(async () => {
      if (this.stopped) throw new Error('the group is shutting down');
      this.busy = true;
      try {
        if (this.decoder.shared) {
          await this.channel.send({ kind: 'decode', requestId, shape: [...latents.shape] }, [
            ['latents', latents],
          ]);
        }
        return await this.decoder.decode(latents, requestId);
      } catch (err) {
        this.fail(`decoding ${requestId} failed: ${(err as Error).message}`, err);
        throw err;
      } finally {
        this.busy = false;
        this.lastSent = performance.now();
      }
    });

  /** Ends every rank's loop (after the running batch, which drain has already waited for). */
  async shutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.channel.exclusive(async () => {
      if (this.stopped) return;
      this.stopped = true;
      await this.channel.send({ kind: 'shutdown' });
      this.options.logger.info('shutdown sent to every rank');
    });
  }

  /** Stops the heartbeat without telling anyone (the group is already broken). */
  stop(): void {
    clearInterval(this.heartbeat);
    this.stopped = true;
  }

  private beatIfIdle(): void {
    if (this.busy || this.stopped || this.failed) return;
    if (performance.now() - this.lastSent < this.options.heartbeatMs) return;
    this.lastSent = performance.now();
    void this.channel
      .exclusive(async () => {
        if (this.stopped || this.busy) return;
        await this.channel.send({ kind: 'heartbeat' });
        this.lastSent = performance.now();
      })
      .catch((err: unknown) => this.fail(`heartbeat failed: ${(err as Error).message}`, err));
  }

  private fail(reason: string, cause: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.stop();
    this.options.onFatal(reason, cause);
  }
}
