/**
 * The image service as the serving thread sees it: each request's prepare (checks, prompt encoding,
 * seeded noise) is a message to the rank's main thread, where the pipeline and its text encoders are;
 * PNGs are encoded here, off the rank's thread (pure JavaScript).
 */
import type { MessagePort } from 'node:worker_threads';
import type { RgbImage } from '../pipeline/image/pixels.js';
import {
  type ImageAsk,
  type ImageRequest,
  ImageRequestError,
  requestPng,
} from '../pipeline/image-request.js';
import type { ImageService, PreparedImages } from './image-service.js';
import type { FromServingThread, ToServingThread } from './thread-messages.js';

interface PendingPrepare {
  resolve: (prepared: PreparedImages) => void;
  reject: (err: Error) => void;
}

export class ThreadImageService implements ImageService {
  private readonly pending = new Map<number, PendingPrepare>();
  private lastId = 0;

  constructor(
    readonly model: string,
    private readonly port: MessagePort,
  ) {}

  prepare(ask: ImageAsk): Promise<PreparedImages> {
    const prepareId = ++this.lastId;
    return new Promise<PreparedImages>((resolve, reject) => {
      this.pending.set(prepareId, { resolve, reject });
      const message: FromServingThread = { kind: 'prepare-images', prepareId, ask };
      this.port.postMessage(message);
    });
  }

  png(image: RgbImage, request: ImageRequest): Uint8Array {
    return requestPng(image, request, this.model);
  }

  settle(message: Extract<ToServingThread, { kind: 'images-prepared' | 'images-refused' }>): void {
    const pending = this.pending.get(message.prepareId);
    if (!pending) return;
    this.pending.delete(message.prepareId);
    if (message.kind === 'images-prepared') pending.resolve(message.prepared);
    else if (message.field === undefined) pending.reject(new Error(message.message));
    else pending.reject(new ImageRequestError(message.field, message.message, message.fix));
  }
}
