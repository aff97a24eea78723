/**
 * The clients of the soak test: each sends its share of a bounded stream of `POST /v1/denoise` requests to
 * the leader, one at a time, and records the one answer each gets. A request counts as sent once a server
 * took its connection: a refused connection (nothing listens on the leader's port while the group
 * restarts) is tried again after a pause, as a client of an empty Service would. Anything else that ends
 * a sent request without an HTTP answer — a reset, a hang-up, no answer within the client's patience — is
 * a lost request.
 */
import { request } from 'node:http';
import { decodeF32 } from '../serving/harness.js';

/** How one request ended. */
export type Outcome =
  | { kind: 'ok'; error: number }
  | { kind: 'refusal'; status: number; code: string; reason: string; retryAfterS: number | undefined }
  | { kind: 'unexpected'; status: number; body: string }
  | { kind: 'lost'; cause: string };

export interface Sent {
  id: string;
  outcome: Outcome;
  /** Connections refused before one was taken. */
  refusedConnections: number;
  sentAt: number;
  answeredAt: number;
}

export interface ClientOptions {
  leader: string;
  /** The JSON body of every request (requests differ only in timeoutMs). */
  body: Record<string, unknown>;
  /** Checks a 200's latents: the largest relative error against the expected result. */
  errorOf: (latents: Float32Array) => number;
  /** How long a client waits for one answer before calling it lost. */
  patienceMs: number;
}

const REFUSED_PAUSE_MS = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP exchange on a fresh connection (no keep-alive pool whose idle sockets could race a restart). */
function exchange(url: string, id: string, text: string, patienceMs: number): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'x-request-id': id,
      },
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${patienceMs} ms`)), patienceMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString(),
        });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(text);
  });
}

function classify(answer: RawAnswer, options: ClientOptions): Outcome {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(answer.text) as Record<string, unknown>;
  } catch {
    return { kind: 'unexpected', status: answer.status, body: answer.text.slice(0, 300) };
  }
  if (answer.status === 200) {
    const latents = json.latents as { data?: string } | undefined;
    if (typeof latents?.data !== 'string') {
      return { kind: 'unexpected', status: 200, body: answer.text.slice(0, 300) };
    }
    return { kind: 'ok', error: options.errorOf(decodeF32(latents.data)) };
  }
  const error = json.error as { code?: unknown; message?: unknown } | undefined;
  const refusal = [429, 503, 504].includes(answer.status);
  if (!refusal || typeof error?.code !== 'string' || typeof error.message !== 'string' || !error.message) {
    return { kind: 'unexpected', status: answer.status, body: answer.text.slice(0, 300) };
  }
  const retryAfter = Number(answer.headers['retry-after']);
  return {
    kind: 'refusal',
    status: answer.status,
    code: error.code,
    reason: error.message,
    retryAfterS: Number.isFinite(retryAfter) ? retryAfter : undefined,
  };
}

/** Sends one request until a server takes it, and records its answer. */
export async function sendOne(id: string, timeoutMs: number, options: ClientOptions): Promise<Sent> {
  const text = JSON.stringify({ ...options.body, timeoutMs });
  let refusedConnections = 0;
  for (;;) {
    const sentAt = Date.now();
    try {
      const answer = await exchange(`${options.leader}/v1/denoise`, id, text, options.patienceMs);
      return {
        id,
        outcome: classify(answer, options),
        refusedConnections,
        sentAt,
        answeredAt: Date.now(),
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED') {
        refusedConnections++;
        await sleep(REFUSED_PAUSE_MS);
        continue;
      }
      return {
        id,
        outcome: { kind: 'lost', cause: `${code ?? ''} ${(err as Error).message}`.trim() },
        refusedConnections,
        sentAt,
        answeredAt: Date.now(),
      };
    }
  }
}

/**
 * One client: sends the requests `ids` names in order, pausing `paceMs` between them, or what a refusal's
 * Retry-After asks (at most `maxPauseMs`), as a polite client does.
 */
export async function runClient(
  requests: readonly { id: string; timeoutMs: number }[],
  options: ClientOptions & { paceMs: number; maxPauseMs: number; onAnswer: (sent: Sent) => void },
): Promise<void> {
  for (const r of requests) {
    const sent = await sendOne(r.id, r.timeoutMs, options);
    options.onAnswer(sent);
    const asked = sent.outcome.kind === 'refusal' ? (sent.outcome.retryAfterS ?? 0) * 1000 : 0;
    await sleep(Math.min(options.maxPauseMs, Math.max(options.paceMs, asked)));
  }
}
