/**
 * `POST /v1/images/generations`: a prompt in, PNGs out (OpenAI Images shape). The request goes through
 * the same queue, batching, deadlines and metrics as `/v1/denoise`: the image service checks it and
 * encodes its prompts on the leader, the executor denoises it with the group (sharing runs with other
 * requests of the same steps and guidance) and decodes it with the group's VAE ranks, and the answer is
 * `{ created, data: [{ b64_json }] }`, one PNG per image. Room in the queue is checked before the text
 * encoders run, so a request refused with 429 costs nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/log.js';
import type { RgbImage } from '../pipeline/image/pixels.js';
import { type ImageAsk, ImageRequestError } from '../pipeline/image-request.js';
import type { BatchScheduler } from './batch-scheduler.js';
import { readBody, sendJson } from './http-io.js';
import type { ImageService, PreparedImages } from './image-service.js';
import { parseImagesBody } from './images-body.js';
import type { ServingLimits } from './limits.js';
import { invalidField, RequestError } from './request-error.js';
import { runQueued } from './run-queued.js';
import { batchKeyOf } from './validate-request.js';

export const IMAGES_PATH = '/v1/images/generations';

/** A prompt of the longest accepted length in JSON, with room for every other field. */
const BODY_LIMIT_BYTES = 64 * 1024;

function checkJson(contentType: string | undefined): void {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new RequestError(
      415,
      'unsupported_media_type',
      `content-type ${JSON.stringify(contentType ?? '')}`,
      {
        field: 'content-type',
        fix: 'application/json',
      },
    );
  }
}

export class ImagesRoute {
  constructor(
    private readonly limits: ServingLimits,
    private readonly scheduler: BatchScheduler,
    private readonly service: ImageService,
  ) {}

  async handle(
    id: string,
    req: IncomingMessage,
    res: ServerResponse,
    logger: Logger,
    expectsContinue = false,
  ): Promise<void> {
    checkJson(req.headers['content-type']);
    const body = await readBody(req, BODY_LIMIT_BYTES, () => {
      if (expectsContinue) res.writeContinue();
    });
    const { ask, timeoutMs: askedTimeout } = parseImagesBody(body);
    const { defaultTimeoutMs, maxTimeoutMs } = this.limits;
    if (askedTimeout !== undefined && askedTimeout > maxTimeoutMs) {
      throw invalidField('timeout_ms', `is ${askedTimeout}`, `an integer from 1 to ${maxTimeoutMs}`);
    }
    this.scheduler.checkRoom();
    const prepared = await this.prepare(ask);
    const { request, tensors } = prepared;
    logger.debug({ n: request.n, steps: request.steps, seed: request.seed }, 'queueing');
    const completed = await runQueued(this.scheduler, req, res, {
      request: {
        id,
        batchSize: request.n,
        tensors,
        steps: request.steps,
        guidanceScale: request.guidanceScale,
        seed: request.seed,
        output: 'images',
      },
      batchKey: batchKeyOf(request.steps, request.guidanceScale, tensors.keys()),
      timeoutMs: askedTimeout ?? defaultTimeoutMs,
    });
    if (completed) this.answer(res, prepared, completed.result.images, completed);
  }

  private async prepare(ask: ImageAsk): Promise<PreparedImages> {
    try {
      return await this.service.prepare(ask);
    } catch (err) {
      if (err instanceof ImageRequestError) {
        throw new RequestError(400, 'invalid_field', err.message, {
          field: err.field,
          fix: err.fix,
          cause: err,
        });
      }
      throw err;
    }
  }

  private answer(
    res: ServerResponse,
    prepared: PreparedImages,
    images: readonly RgbImage[] | undefined,
    timing: { queueMs: number; runMs: number },
  ): void {
    const { request } = prepared;
    if (!images || images.length !== request.n) {
      throw new RequestError(
        500,
        'executor_error',
        `the group returned ${images?.length ?? 0} images for n = ${request.n}`,
      );
    }
    const data = images.map((image) => ({
      b64_json: Buffer.from(this.service.png(image, request)).toString('base64'),
    }));
    sendJson(
      res,
      200,
      { created: Math.floor(Date.now() / 1000), data },
      {
        'x-tessera-queue-ms': String(Math.round(timing.queueMs)),
        'x-tessera-run-ms': String(Math.round(timing.runMs)),
        'x-tessera-seed': String(request.seed),
      },
    );
  }
}
