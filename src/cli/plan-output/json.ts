import type { PlannerInput, PlannerResult } from '../../shared/planner/index.js';

/** `-o json`: the whole result; the chosen degrees are under `chosen.degrees`. */
export function renderJson(input: PlannerInput, result: PlannerResult): string {
  const { name, textEncoderBytes, vaeBytes } = input.model;
  return `${JSON.stringify(
    {
      model: { name, textEncoderBytes, vaeBytes },
      hardware: { ...input.hardware, gpu: input.hardware.gpu.product },
      policy: input.policy,
      profile: input.profile?.name ?? 'compiled',
      chosen: result.chosen,
      candidates: result.candidates,
      rejected: result.rejected,
    },
    null,
    2,
  )}\n`;
}
