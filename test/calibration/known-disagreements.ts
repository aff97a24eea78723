/**
 * Published tables whose best the planner does not pick, with why. The calibration test prints them and
 * fails once one of them holds, so that it leaves this list; docs/planner.md reports them.
 */
export const KNOWN_DISAGREEMENTS: Readonly<Record<string, string>> = {
  'flux-dev-2x8l40-1024-eager':
    'xDiT measured Ulysses 4 on 4 L40 at 16.94 s (slower than 2 GPUs) but Ulysses 4 × PipeFusion 4 on 16 at ' +
    '4.78 s; with an all-to-all that costs the same per byte for a whole image as for a PipeFusion patch, ' +
    'no setting of the constants prices both, and the model puts u4·pp4 at about 1.5× its published time, ' +
    'so it picks PipeFusion 8 on 8 GPUs (published 5.53 s)',
  'flux-dev-2x8l40-2048-eager':
    'the published best on 16 GPUs (27.99 s) is slower than PipeFusion 8 on 8 (18.68 s), while the same ' +
    'figure shows 16 GPUs faster than 8 at 1024² and 4096² (the doc: "the performance improvement does not ' +
    'achieved with 16 GPUs 2048px tasks", no reason given); a cost model that is monotonic in the image ' +
    'size cannot predict that, so the planner uses the 16 GPUs',
};
