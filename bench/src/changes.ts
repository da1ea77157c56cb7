/**
 * `pnpm --filter @entity-sync/bench changes [--quick]`: the change-source bench alone (one
 * Postgres, one node, one follower, in this process). `pnpm bench` runs it too, after the suite.
 */
import { parseArgs } from 'node:util';
import { CHANGES_FULL, CHANGES_QUICK, runChanges } from './changes/run.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== '--'), options: { quick: { type: 'boolean' } } });
const figures = await runChanges(values.quick ? CHANGES_QUICK : CHANGES_FULL, (line) => console.log(line));
console.log(JSON.stringify(figures));
process.exit(0);
