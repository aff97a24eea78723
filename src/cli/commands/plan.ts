import { NoFeasiblePlanError, PlannerInputError, plan } from '../../shared/planner/index.js';
import { type Command, UsageError } from '../command.js';
import { PLAN_USAGE, parsePlanArgs } from '../plan-args.js';
import { renderJson } from '../plan-output/json.js';
import { renderSvg } from '../plan-output/svg.js';
import { renderTable } from '../plan-output/table.js';

/**
 * `tessera plan`: chooses hybrid-parallel degrees for a model on a cluster and prints the choice, the
 * ranked candidates and the rejected ones (table, JSON or an SVG picture of the placement).
 * Exit 0 with a plan, 1 when nothing is feasible (the reasons go to stderr), 2 for bad flags.
 */
export const planCommand: Command = {
  name: 'plan',
  summary: 'choose hybrid-parallel degrees for a model on a cluster',
  async run(argv) {
    const options = parsePlanArgs(argv);
    if (options === 'help') {
      process.stdout.write(PLAN_USAGE);
      return 0;
    }
    let result: ReturnType<typeof plan>;
    try {
      result = plan(options.input);
    } catch (err) {
      if (err instanceof NoFeasiblePlanError) {
        process.stderr.write(`tessera plan: ${err.message}\n`);
        return 1;
      }
      if (err instanceof PlannerInputError) throw new UsageError(err.message, { cause: err });
      throw err;
    }
    const { input } = options;
    const text =
      options.output === 'json'
        ? renderJson(input, result)
        : options.output === 'svg'
          ? renderSvg(result.chosen, `${input.model.name} on ${input.hardware.gpu.product}`)
          : renderTable(input, result, options.top);
    process.stdout.write(text);
    return 0;
  },
};
