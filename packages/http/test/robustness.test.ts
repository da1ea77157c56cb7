import fc from 'fast-check';
import { afterAll, afterEach, expect, it } from 'vitest';
import { post, rawRequest } from './support/http.js';
import { type NotifyServer, startNotifyServer, TOKEN } from './support/notify-server.js';

/** Nothing a request sends crashes the process or wedges the endpoint. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
process.on('uncaughtException', onUnhandled);

const leftovers: NotifyServer[] = [];
afterEach(async () => {
  for (const server of leftovers.splice(0)) await server.close();
});
afterAll(async () => {
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
});

async function start(): Promise<NotifyServer> {
  const server = await startNotifyServer({ handler: { maxBodyBytes: 4096, maxKeys: 20 } });
  leftovers.push(server);
  return server;
}

const HEAD = `POST /notify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n`;

it('answers any JSON body and any bytes with 202, 400 or 413 and a coded error, never 500', async () => {
  const server = await start();
  const key = fc.record({ entity: fc.oneof(fc.constant('items'), fc.string()), id: fc.oneof(fc.string(), fc.integer()) });
  const body = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({ keys: fc.array(fc.oneof(key, fc.jsonValue()), { maxLength: 30 }) }).map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 5000 }),
  );
  await fc.assert(
    fc.asyncProperty(body, async (text) => {
      const answer = await post(server.notifyUrl, text);
      expect([202, 400, 413]).toContain(answer.status);
      if (answer.status !== 202) expect(answer.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }),
    { numRuns: 200 },
  );
  expect(server.errors).toEqual([]);
});

it('survives clients that vanish mid-body or send garbage, and keeps serving', async () => {
  const server = await start();
  const vanished = Array.from({ length: 20 }, (_, i) => {
    const exchange = rawRequest(server.port, `${HEAD}Content-Length: 1000\r\n\r\n{"keys":[`, undefined);
    setTimeout(() => exchange.socket.destroy(), i);
    return exchange.response;
  });
  const garbage = [
    'GARBAGE\r\n\r\n',
    `${HEAD}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    `${HEAD}Content-Length: -1\r\n\r\n`,
  ];
  const refused = garbage.map((head) => rawRequest(server.port, head, undefined).response);
  await Promise.all([...vanished, ...refused]);
  for (const response of await Promise.all(refused)) expect(response).toMatch(/^HTTP\/1\.1 400 /);
  expect((await post(server.notifyUrl, { keys: [{ entity: 'items', id: '1' }] })).status).toBe(202);
  expect(server.errors).toEqual([]);
});

it('keeps a connection alive across answers to complete requests (pipelined)', async () => {
  const server = await start();
  const one = (body: string) => `${HEAD}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const exchange = rawRequest(server.port, one('{"keys":[}') + one('{"keys":[{"entity":"items","id":"1"}]}'), undefined);
  await expect.poll(() => exchange.received().match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 400', 'HTTP/1.1 202']);
  exchange.socket.destroy();
});

it('answers 200 concurrent notifies', async () => {
  const server = await start();
  const answers = await Promise.all(
    Array.from({ length: 200 }, (_, i) => post(server.notifyUrl, { keys: [{ entity: 'items', id: String(i) }] })),
  );
  expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
});
