// Copied into the app that scripts/check-published.mjs builds outside the workspace; the quick
// starts import it. Type-checked and compiled there, against the published packages.

/** Resolves once `seen` holds a value passing `test`; rejects after `timeoutMs` naming `what`. */
export async function untilSeen<T>(seen: readonly T[], test: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!seen.some(test)) {
    if (Date.now() > deadline) throw new Error(`did not receive ${what} within ${timeoutMs} ms; the client saw ${JSON.stringify(seen)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log(`received ${what}`);
}

/** POSTs `body` as JSON with a bearer token; throws unless the answer has `status`. */
export async function postJson(url: string, token: string, body: unknown, status: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== status) throw new Error(`POST ${url}: ${response.status} ${text}, expected ${status}`);
  console.log(`POST ${new URL(url).pathname}: ${response.status} ${text}`);
}
