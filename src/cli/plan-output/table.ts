import { planShortString } from '../../shared/plan/index.js';
import type { PlannerInput, PlannerResult } from '../../shared/planner/index.js';
import { explainRejections, isExact } from '../../shared/planner/index.js';
import { degreesLong, gib, rankRanges, seconds } from './format.js';

function pad(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i <= 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** The readable report of `tessera plan` (the default `-o table`). */
export function renderTable(input: PlannerInput, result: PlannerResult, top: number): string {
  const { chosen } = result;
  const f = input.model.facts;
  const hw = input.hardware;
  const lines: string[] = [];
  lines.push(
    `model     ${input.model.name}: ${f.family}, ${f.layers} blocks, ${f.heads} heads × ${f.headDim}, ` +
      `${(f.parameters / 1e9).toFixed(2)} B parameters, ${f.usesCfg ? 'true CFG' : 'no CFG (guidance-distilled)'}`,
  );
  lines.push(
    `request   ${input.request.width}×${input.request.height}, ${input.request.steps} steps, batch ${input.request.maxBatch}`,
  );
  lines.push(
    `hardware  ${hw.gpu.product}, ${hw.gpusPerNode} per node (${hw.intraNode}), ${hw.nodesAvailable} node(s), ` +
      `${hw.interNodeGbps} Gbit/s between nodes`,
  );
  lines.push('');
  lines.push(`chosen    ${planShortString(chosen.degrees)}  (${degreesLong(chosen.degrees)})`);
  lines.push(`          ${chosen.reason}`);
  lines.push(
    `group     ${chosen.gpusPerGroup} GPUs = ${chosen.podsPerGroup} pod(s) × ${chosen.gpusPerPod} GPUs; ` +
      `pipeline patches ${chosen.pipeline.patches}, warm-up steps ${chosen.pipeline.warmupSteps}`,
  );
  const b = chosen.breakdown;
  lines.push(
    `predicted ${seconds(chosen.predicted.totalSeconds)} s per request, ${seconds(chosen.predicted.stepSeconds)} s per step, ` +
      `${gib(chosen.predicted.memoryBytesPerGpu)} per GPU`,
  );
  lines.push(
    `          step: compute ${seconds(b.step.compute)}, ulysses ${seconds(b.step.ulysses)}, ring ${seconds(b.step.ring)}, ` +
      `pipefusion ${seconds(b.step.pipefusion)}, cfg ${seconds(b.step.cfg)}, host ${seconds(b.step.host)}; ` +
      `request: warm-up ${seconds(b.warmupSeconds)}, bubble ${seconds(b.bubbleSeconds)}, ` +
      `overhead ${seconds(b.overheadSeconds)}, VAE ${seconds(b.vaeSeconds)}`,
  );
  const byPod = new Map<number, number[]>();
  for (const r of chosen.ranks) byPod.set(r.pod, [...(byPod.get(r.pod) ?? []), r.rank]);
  const podLines = [...byPod.entries()]
    .slice(0, 8)
    .map(([pod, ranks]) => `pod ${pod}: ranks ${rankRanges(ranks)}`);
  if (byPod.size > 8) podLines.push(`… ${byPod.size - 8} more pods`);
  lines.push(`ranks     ${podLines.join('; ')}`);
  lines.push('');

  lines.push(`candidates (${result.candidates.length}, the chosen first, then best first)`);
  const header = [
    '#',
    'plan',
    'kind',
    'GPUs',
    'pods',
    'total s',
    'step s',
    'compute',
    'ulysses',
    'ring',
    'pipefus.',
    'cfg',
    'memory',
    'vs best',
  ];
  const rows = result.candidates
    .slice(0, top)
    .map((c) => [
      `${c.rank}`,
      planShortString(c.degrees),
      isExact(c) ? 'exact' : 'approx.',
      `${c.gpusPerGroup}`,
      `${c.podsPerGroup}`,
      seconds(c.time.totalSeconds),
      seconds(c.time.stepSeconds),
      seconds(c.time.step.compute),
      seconds(c.time.step.ulysses),
      seconds(c.time.step.ring),
      seconds(c.time.step.pipefusion),
      seconds(c.time.step.cfg),
      gib(c.memory.total),
      `${c.relativeToBest.toFixed(2)}×`,
    ]);
  lines.push(...pad([header, ...rows]).map((l) => `  ${l}`));
  if (result.candidates.length > top)
    lines.push(`  … ${result.candidates.length - top} more (-o json lists all)`);
  lines.push('');
  lines.push(`rejected (${result.rejected.length})`);
  for (const l of explainRejections(result.rejected, top)) lines.push(`  ${l}`);
  if (result.rejected.length > top)
    lines.push(`  … ${result.rejected.length - top} more (-o json lists all)`);
  return `${lines.join('\n')}\n`;
}
