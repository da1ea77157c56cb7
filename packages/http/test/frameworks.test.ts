import { afterEach, describe, expect, it } from 'vitest';
import { post, rawRequest, request } from './support/http.js';
import { type Mount, type NotifyServer, startNotifyServer } from './support/notify-server.js';

/**
 * The handler mounted as the README shows it on node:http, Express 5 (with and without a global
 * `express.json()`) and Fastify 5: the same answers on each.
 */
const leftovers: NotifyServer[] = [];
afterEach(async () => {
  for (const server of leftovers.splice(0)) await server.close();
});

async function start(mount: Mount, handler: Parameters<typeof startNotifyServer>[0] = {}): Promise<NotifyServer> {
  const server = await startNotifyServer({ ...handler, mount });
  leftovers.push(server);
  return server;
}

describe.each<Mount>(['node', 'express', 'express+json', 'fastify'])('mounted on %s', (mount) => {
  it('202: a subscribed client receives the new value', async () => {
    const server = await start(mount);
    server.store.set('1', { v: 1 });
    const client = await server.subscribe('1');
    await client.waitFor((f) => f.type === 'data' && f.data.v === 1);
    server.store.set('1', { v: 2 });
    const answer = await post(server.notifyUrl, { keys: [{ entity: 'items', id: '1' }] });
    expect(answer).toMatchObject({ status: 202, body: { notified: 1 } });
    await client.waitFor((f) => f.type === 'data' && f.data.v === 2);
  });

  it('400 names the bad key by index', async () => {
    const server = await start(mount);
    const answer = await post(server.notifyUrl, {
      keys: [
        { entity: 'items', id: '1' },
        { entity: 'no spaces', id: '2' },
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'INVALID_KEY', index: 1 });
    expect(answer.body.error.message).toMatch(/^keys\[1\]: entity must match/);
  });

  it('401 without the token, 405 for GET, 415 for a form', async () => {
    const server = await start(mount);
    const anonymous = await post(server.notifyUrl, { keys: [] }, { authorization: 'Bearer wrong' });
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    const get = await request(server.notifyUrl, { method: 'GET' });
    expect(get).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } });
    expect(get.headers.get('allow')).toBe('POST');
    const form = await post(server.notifyUrl, 'keys=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
  });
});

// With a global express.json(), body-parser owns the body and its limit, so only these three.
describe.each<Mount>(['node', 'express', 'fastify'])('mounted on %s, reading the body itself', (mount) => {
  it('413 for a body that never ends, without reading it to the end', async () => {
    const server = await start(mount, { handler: { maxBodyBytes: 1024 } });
    const head = `POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const exchange = rawRequest(server.port, head, () => `400\r\n${'x'.repeat(1024)}\r\n`);
    const response = await exchange.response;
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain('"code":"BODY_TOO_LARGE"');
  });
});
