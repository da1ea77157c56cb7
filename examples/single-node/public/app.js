// The demo page: lists the items, subscribes to each through @entity-sync/client, and saves
// edits with plain HTTP POSTs. The server notifies entity-sync after each write, so every open
// page gets the new value over its WebSocket.
import { createClient } from '/entity-sync-client.js';

const statusEl = document.getElementById('status');
const listEl = document.getElementById('items');
const logEl = document.getElementById('log');

const client = createClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/entity-sync/`,
  retry: { minDelayMs: 250, maxDelayMs: 5000 },
});
client.on('state', (state, detail) => {
  statusEl.textContent = detail.retryInMs === undefined ? state : `${state} (retry in ${detail.retryInMs} ms)`;
  statusEl.dataset.state = state;
});
client.on('error', (error) => {
  logEl.textContent = `${error.code}: ${error.message}`;
});

function row(id) {
  const li = document.createElement('li');
  li.dataset.id = id;
  li.innerHTML = `
    <input type="checkbox" class="done" aria-label="done" />
    <span class="title">…</span>
    <span class="version"></span>
    <input type="text" class="edit" aria-label="new title" />
    <button type="button" class="save">Save</button>`;
  const [done, title, version, input, save] = li.children;
  const post = (edit) =>
    fetch(`/api/items/${encodeURIComponent(id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(edit),
    }).then((res) => {
      if (!res.ok) logEl.textContent = `save failed: HTTP ${res.status}`;
    });
  save.addEventListener('click', () => input.value.trim() && post({ title: input.value }).then(() => (input.value = '')));
  input.addEventListener('keydown', (e) => e.key === 'Enter' && save.click());
  done.addEventListener('change', () => post({ done: done.checked }));

  client.subscribe(
    { entity: 'items', id },
    (item, meta) => {
      if (!item) {
        title.textContent = '(deleted)';
        return;
      }
      title.textContent = item.title;
      version.textContent = `v${item.version}`;
      done.checked = item.done;
      li.classList.toggle('done', item.done);
      if (!meta.snapshot) {
        li.classList.remove('flash');
        void li.offsetWidth;
        li.classList.add('flash');
      }
    },
    (error) => {
      title.textContent = `(${error.code})`;
    },
  );
  return li;
}

const ids = await fetch('/api/items').then((res) => res.json());
listEl.replaceChildren(...ids.map(row));
