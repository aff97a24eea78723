/** Answers a finished request in the encoding it came in. */
import type { ServerResponse } from 'node:http';
import type { Completed } from './batch-scheduler.js';
import { bytesFromF32 } from './f32-codec.js';
import { sendJson } from './http-io.js';
import { encodeSafetensors } from './safetensors-body.js';

export type BodyFormat = 'json' | 'safetensors';

export function sendCompleted(res: ServerResponse, format: BodyFormat, id: string, done: Completed): void {
  const queueMs = Math.round(done.queueMs);
  const runMs = Math.round(done.runMs);
  const { latents } = done.result;
  const timingHeaders = { 'x-tessera-queue-ms': String(queueMs), 'x-tessera-run-ms': String(runMs) };
  if (format === 'json') {
    sendJson(
      res,
      200,
      {
        id,
        latents: { dtype: 'f32', shape: latents.shape, data: bytesFromF32(latents.data).toString('base64') },
        timing: { queueMs, runMs },
        batchSamples: done.batchSamples,
      },
      timingHeaders,
    );
    return;
  }
  const body = encodeSafetensors('latents', latents, {
    id,
    queueMs: String(queueMs),
    runMs: String(runMs),
    batchSamples: String(done.batchSamples),
  });
  res.writeHead(200, {
    ...timingHeaders,
    'content-type': 'application/octet-stream',
    'content-length': body.length,
  });
  res.end(body);
}
