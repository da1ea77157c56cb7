import { createEntitySync, type EntitySync } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';

/** Issue 11: `reauthorize` and `revoke` refuse a bad filter or code with INVALID_OPTIONS (a rejection, never a throw). */
const nodes: EntitySync[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.close();
});

const BAD_FILTERS: unknown[] = [undefined, null, {}, { secret: 5 }, { userId: 7 }, { all: false }, { secret: 'a', all: true }, 'secret'];

describe('reauthorize and revoke: bad input', () => {
  it.each(BAD_FILTERS.map((filter) => [JSON.stringify(filter) ?? 'undefined', filter]))(
    'filter %s is INVALID_OPTIONS',
    async (_, filter) => {
      const sync = createEntitySync();
      nodes.push(sync);
      await expect(sync.reauthorize(filter as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      await expect(sync.revoke(filter as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    },
  );

  it('a revoke code other than 4401 or 4403 is INVALID_OPTIONS', async () => {
    const sync = createEntitySync();
    nodes.push(sync);
    for (const code of [4000, 1000, '4403']) {
      await expect(sync.revoke({ all: true }, { code } as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    }
    await expect(sync.revoke({ all: true }, { code: 4403 })).resolves.toBeUndefined();
    await expect(sync.revoke({ all: true })).resolves.toBeUndefined();
  });

  it('after close they are CLOSED', async () => {
    const sync = createEntitySync();
    await sync.close();
    await expect(sync.reauthorize({ all: true })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(sync.revoke({ secret: 'x' })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
