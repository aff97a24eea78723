import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HEALTH_DIR, luaHealth } from './support/lua-health.js';
import { statusScenarios } from './support/status-scenarios.js';
import { deployTool, runTool } from './support/tools.js';

interface HealthCase {
  healthStatus: { status: string; message: string };
  inputPath: string;
}

describe('Argo CD health check (integrations/argocd/tessera.dev/DiTInference/health.lua)', () => {
  it('gives every fixture of health_test.yaml its expected status and message', async () => {
    const suite = parse(readFileSync(join(HEALTH_DIR, 'health_test.yaml'), 'utf8')) as {
      tests: HealthCase[];
    };
    expect(suite.tests.length).toBeGreaterThanOrEqual(8);
    const statuses = new Set<string>();
    for (const test of suite.tests) {
      const object = parse(readFileSync(join(HEALTH_DIR, test.inputPath), 'utf8'));
      expect(await luaHealth(object), test.inputPath).toEqual(test.healthStatus);
      statuses.add(test.healthStatus.status);
    }
    expect([...statuses].sort()).toEqual(['Degraded', 'Healthy', 'Progressing', 'Suspended']);
  });

  it('reads the status the operator computes: Progressing while starting or rolling, Healthy when Ready, Degraded when Stalled', async () => {
    for (const scenario of statusScenarios()) {
      const health = await luaHealth(scenario.object);
      expect(health.status, scenario.name).toBe(scenario.argo);
      expect(health.message, scenario.name).not.toBe('');
      // Degraded and Progressing carry the operator's own words, so Argo CD's UI says what is wrong.
      const stalled = scenario.object.status?.conditions?.find((c) => c.type === 'Stalled');
      if (scenario.argo === 'Degraded') expect(health.message).toContain(stalled?.message ?? '?');
    }
  });
});

describe('kstatus (sigs.k8s.io/cli-utils, as Flux and kubectl-style waits read it)', () => {
  it('computes the same verdicts from the operator status', async () => {
    const scenarios = statusScenarios().filter((s) => s.kstatus !== undefined);
    const out = await runTool(deployTool('kstatus'), [], {
      input: JSON.stringify(scenarios.map((s) => s.object)),
    });
    expect(out.code, out.stderr).toBe(0);
    const results = JSON.parse(out.stdout) as { status: string; message: string }[];
    expect(Object.fromEntries(results.map((r, i) => [scenarios[i]?.name, r.status]))).toEqual(
      Object.fromEntries(scenarios.map((s) => [s.name, s.kstatus])),
    );
  });
});
