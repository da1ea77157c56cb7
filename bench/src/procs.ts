import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** CPU of the driver (and this orchestrator); servers and brokers get the other one. */
export const DRIVER_CPU = 0;
export const SERVER_CPU = 1;

const live = new Set<ChildProcess>();
let hooked = false;

function hasTaskset(): boolean {
  return ['/usr/bin/taskset', '/bin/taskset'].some((p) => existsSync(p));
}

export const pinning = hasTaskset() && availableParallelism() >= 2;

/** Pins an already running process (a broker, this orchestrator) to `cpu`. */
export function pin(pid: number, cpu: number): void {
  if (!pinning) return;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
  } catch {
    // the process may be gone already; figures are then unpinned, nothing else breaks
  }
}

/** Kills every child this process started (by process group), on exit and on signals. */
export function killAll(): void {
  for (const child of live) killGroup(child);
  live.clear();
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/**
 * Starts `src/<script>.ts` in a new Node process (own process group, IPC channel), pinned to
 * `cpu` with `taskset` when available. The harness runs through tsx; the library is the built
 * `dist/` of each package (`pnpm build` first), as users run it: sources through tsx would pay
 * tsx's per-closure name helper on every call.
 */
export function spawnNode(script: string, cpu: number, args: string[], nodeFlags: string[] = []): ChildProcess {
  installHooks();
  const file = fileURLToPath(new URL(`./${script}.ts`, import.meta.url));
  const nodeArgs = [...nodeFlags, '--import', 'tsx', file, ...args];
  const [cmd, cmdArgs] = pinning ? ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(cmd, cmdArgs as string[], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Stops one child: asks politely through `close`, then kills its process group. */
export async function stopChild(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => killGroup(child), graceMs);
  try {
    child.disconnect();
  } catch {
    killGroup(child);
  }
  await exited;
  clearTimeout(timer);
  live.delete(child);
}
