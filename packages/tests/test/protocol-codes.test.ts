import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientErrorCode } from '@entity-sync/client';
import { CLOSE_RETRY, CloseCode, WireErrorCode } from '@entity-sync/protocol';
import { describe, expect, expectTypeOf, it } from 'vitest';

/**
 * The server and the client share one protocol module (`@entity-sync/protocol`), so codes cannot
 * drift: every error code and close code the client handles is one the server can send, and every
 * one the server sends is one the client handles.
 */
const root = fileURLToPath(new URL('../../..', import.meta.url));

function sourceOf(...packages: string[]): string {
  return packages
    .flatMap((pkg) => {
      const dir = join(root, 'packages', pkg, 'src');
      return (readdirSync(dir, { recursive: true }) as string[])
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
        .map((f) => readFileSync(join(dir, f), 'utf8'));
    })
    .join('\n');
}

const server = sourceOf('core', 'ws');
const protocolDoc = readFileSync(join(root, 'docs/protocol.md'), 'utf8');

describe('one protocol for server and client', () => {
  it('the client handles exactly the wire error codes, plus its own three', () => {
    expectTypeOf<Exclude<ClientErrorCode, 'UNAUTHORIZED' | 'BAD_FRAME' | 'LISTENER_ERROR'>>().toEqualTypeOf<WireErrorCode>();
  });

  it.each(Object.keys(WireErrorCode))('the server can send %s, and docs/protocol.md lists it', (code) => {
    expect(server).toMatch(new RegExp(`'${code}'`));
    expect(protocolDoc).toContain(`\`${code}\``);
  });

  it.each(Object.entries(CloseCode))(
    'close code %s (%i): sent by the server or documented as reserved, and the client knows how to react',
    (name, code) => {
      expect(CLOSE_RETRY[code]).toMatch(/^(at-once|backoff|never)$/);
      // 1000 (the echo of a client's close) and 1009 (past maxPayload) are sent by `ws` itself.
      const sent = new RegExp(`CloseCode\\.${name}\\b`).test(server) || code === CloseCode.Normal || code === CloseCode.MessageTooBig;
      const row = protocolDoc.split('\n').find((line) => line.startsWith(`| ${code} `));
      expect(row, `docs/protocol.md has no row for ${code}`).toBeDefined();
      if (!sent) expect(row).toContain('(reserved');
    },
  );
});
