/**
 * A process that owns a local control plane and then just waits; tests kill it in various ways and check
 * that nothing it started survives. Prints one JSON line: { workDir, processes }.
 * Usage: tsx test/support/devcluster-owner.ts '<ControlPlaneOptions as JSON>'
 */
import { startControlPlane } from '../../src/devcluster/index.js';

const cluster = await startControlPlane(JSON.parse(process.argv[2] ?? '{}'));
process.stdout.write(`${JSON.stringify({ workDir: cluster.workDir, processes: cluster.processes })}\n`);
setInterval(() => {}, 60_000);
