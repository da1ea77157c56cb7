import { type ChildProcess, fork } from 'node:child_process';

/** `--import` URL of the loader that lets a plain `node` child run this repo's TypeScript. */
export const TS_LOADER_URL = new URL('./ts-loader.mjs', import.meta.url).href;

/** Node arguments for a child that runs TypeScript sources through the source condition. */
export const TS_EXEC_ARGV = ['--conditions=@entity-sync/source', '--import', TS_LOADER_URL];

/** Forks `main` (a `.ts` file) with an IPC channel, the TS loader, and `env` added. */
export function forkTs(main: string, env: Record<string, string> = {}): ChildProcess {
  return fork(main, [], {
    execArgv: TS_EXEC_ARGV,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
