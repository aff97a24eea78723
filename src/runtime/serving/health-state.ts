/**
 * What the probes report. Startup (`/healthz`) turns 200 once weights are loaded and warm-up is done,
 * and stays 200: restarting a pod that merely became unready would throw away minutes of loading.
 * Readiness (`/readyz`) is 200 only while requests can be taken; a fatal executor error or shutdown
 * turns it 503 for good, so the Service stops routing here and the operator's group policy sees it.
 */

export type Readiness = { ready: true } | { ready: false; reason: string };

export class HealthState {
  private startedAt: Date | null = null;
  private fatalReason: string | null = null;
  private draining = false;

  markStarted(): void {
    this.startedAt ??= new Date();
  }

  /** Keeps the first reason: later failures are usually consequences of it. */
  markFatal(reason: string): void {
    this.fatalReason ??= reason;
  }

  markDraining(): void {
    this.draining = true;
  }

  get fatal(): boolean {
    return this.fatalReason !== null;
  }

  get started(): boolean {
    return this.startedAt !== null;
  }

  readiness(): Readiness {
    if (this.fatalReason !== null) return { ready: false, reason: `executor failed: ${this.fatalReason}` };
    if (this.draining) return { ready: false, reason: 'shutting down' };
    if (!this.started) return { ready: false, reason: 'starting: weights loading or warm-up running' };
    return { ready: true };
  }
}
