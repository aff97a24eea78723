import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'dist/cli/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The operator runs as a real child process from dist/, so kill, restart and leader-election tests are
 * real. Compiles src/ first when dist/ is missing or older than the operator's sources.
 */
export function ensureBuilt(): void {
  const built = existsSync(MAIN)
    ? statSync(join(ROOT, 'dist/operator/operator.js'), { throwIfNoEntry: false })
    : undefined;
  const sources = Math.max(newestMtime(join(ROOT, 'src/operator')), newestMtime(join(ROOT, 'src/shared')));
  if (built && built.mtimeMs >= sources) return;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    // tsc still emits when another module of the tree has type errors; only a missing output is fatal.
    if (!existsSync(join(ROOT, 'dist/operator/operator.js'))) throw err;
  }
}

export interface OperatorProcessOptions {
  readonly kubeconfigPath: string;
  readonly logFile: string;
  readonly args?: readonly string[];
}

/** One `tessera operator` process with its health port, logs in a file. */
export class OperatorProcess {
  private exited = false;
  readonly exit: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly logFile: string,
    readonly port: number,
  ) {
    this.exit = new Promise((res) => child.once('exit', (code) => res(code)));
    void this.exit.then(() => {
      this.exited = true;
    });
  }

  static async start(opts: OperatorProcessOptions): Promise<OperatorProcess> {
    const fd = openSync(opts.logFile, 'a');
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'operator',
        '--kubeconfig',
        opts.kubeconfigPath,
        '--http-address',
        '127.0.0.1:0',
        '--pod-toleration',
        'kwok.x-k8s.io/node=fake:NoSchedule',
        ...(opts.args ?? []),
      ],
      { stdio: ['ignore', fd, fd], env: { ...process.env, TESSERA_LOG_LEVEL: 'debug' } },
    );
    closeSync(fd);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const port = OperatorProcess.portFromLog(opts.logFile, child.pid ?? -1);
      if (port !== undefined) return new OperatorProcess(child, opts.logFile, port);
      if (child.exitCode !== null) break;
      await sleep(100);
    }
    child.kill('SIGKILL');
    throw new Error(
      `operator did not start; log ${opts.logFile}:\n${readFileSync(opts.logFile, 'utf8').slice(-3000)}`,
    );
  }

  private static portFromLog(file: string, pid: number): number | undefined {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.includes('Serving /healthz')) continue;
      try {
        const entry = JSON.parse(line) as { pid?: number; port?: number };
        if (entry.pid === pid && entry.port) return entry.port;
      } catch {
        // not a JSON line
      }
    }
    return undefined;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** Value of an unlabelled series from /metrics. */
  async metric(name: string): Promise<number | undefined> {
    const { body } = await this.get('/metrics');
    const line = body.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exit;
    clearTimeout(timer);
  }

  logTail(chars = 4000): string {
    return readFileSync(this.logFile, 'utf8').slice(-chars);
  }
}
