/**
 * `POST /v1/denoise`: decode, validate, queue, wait, answer. A request refused at any step has touched
 * nothing: it is queued only once it is valid, and leaves the queue if its client goes away.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/log.js';
import type { BatchScheduler } from './batch-scheduler.js';
import { readBody } from './http-io.js';
import { parseJsonBody } from './json-body.js';
import { maxBodyBytes, type ServingLimits } from './limits.js';
import type { RawRequest } from './raw-request.js';
import { RequestError } from './request-error.js';
import { type BodyFormat, sendCompleted } from './response-encoding.js';
import { runQueued } from './run-queued.js';
import { parseSafetensorsBody } from './safetensors-body.js';
import { validateRequest } from './validate-request.js';

export const DENOISE_PATH = '/v1/denoise';

function bodyFormat(contentType: string | undefined): BodyFormat {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/json') return 'json';
  if (mediaType === 'application/octet-stream') return 'safetensors';
  throw new RequestError(415, 'unsupported_media_type', `content-type ${JSON.stringify(contentType ?? '')}`, {
    field: 'content-type',
    fix: 'application/json (base64 tensors) or application/octet-stream (a safetensors file)',
  });
}

export class DenoiseRoute {
  private readonly bodyLimit: number;

  constructor(
    private readonly limits: ServingLimits,
    private readonly scheduler: BatchScheduler,
  ) {
    this.bodyLimit = maxBodyBytes(limits);
  }

  async handle(
    id: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    logger: Logger,
    expectsContinue = false,
  ): Promise<void> {
    const format = bodyFormat(req.headers['content-type']);
    const body = await readBody(req, this.bodyLimit, () => {
      if (expectsContinue) res.writeContinue();
    });
    const raw: RawRequest =
      format === 'json'
        ? parseJsonBody(body, this.limits)
        : parseSafetensorsBody(body, url.searchParams, this.limits);
    const valid = validateRequest(raw, this.limits);
    const { batchSize, tensors, steps, guidanceScale, seed } = valid;
    logger.debug({ batchSize, steps, guidanceScale, queued: this.scheduler.queued }, 'queueing');
    const completed = await runQueued(this.scheduler, req, res, {
      request: { id, batchSize, tensors, steps, guidanceScale, seed },
      batchKey: valid.batchKey,
      timeoutMs: valid.timeoutMs,
    });
    if (completed) sendCompleted(res, format, id, completed);
  }
}
