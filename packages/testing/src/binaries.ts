import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/**
 * Finds a server binary on `PATH`, then in the sbin directories (Debian puts `nats-server` in
 * `/usr/sbin`). Throws a message that names the Debian package when it is missing.
 */
export function findBinary(name: string, aptPackage: string = name): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...EXTRA_DIRS];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(`${name} not found; apt-get install ${aptPackage}`);
}
