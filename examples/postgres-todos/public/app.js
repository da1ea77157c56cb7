// The page subscribes to the list `inbox` (the ids of its todos) and to each todo. It never
// notifies anything: edits are HTTP POSTs that run SQL, and the Postgres source turns the
// committed rows into notifications.
import { createClient } from '/entity-sync-client.js';

const statusEl = document.getElementById('status');
const listEl = document.getElementById('todos');
const logEl = document.getElementById('log');
const rows = new Map();

const client = createClient({ url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/entity-sync/` });
client.on('state', (state) => {
  statusEl.textContent = state;
  statusEl.dataset.state = state;
});

const post = (path, body) =>
  fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((res) => {
    if (!res.ok) logEl.textContent = `save failed: HTTP ${res.status}`;
  });

function row(id) {
  const li = document.createElement('li');
  li.dataset.id = id;
  li.innerHTML =
    '<input type="checkbox" class="done" /><span class="title">…</span><input type="text" class="edit" /><button type="button" class="save">Save</button>';
  const [done, title, input, save] = li.children;
  save.addEventListener(
    'click',
    () => input.value.trim() && post(`/api/todos/${id}`, { title: input.value }).then(() => (input.value = '')),
  );
  done.addEventListener('change', () => post(`/api/todos/${id}`, { done: done.checked }));
  const stop = client.subscribe({ entity: 'todos', id }, (todo) => {
    title.textContent = todo ? todo.title : '(deleted)';
    done.checked = Boolean(todo?.done);
    li.classList.toggle('done', Boolean(todo?.done));
  });
  return { li, stop };
}

client.subscribe({ entity: 'todoList', id: 'inbox' }, (ids) => {
  for (const [id, r] of rows) if (!ids?.includes(id)) r.stop(), rows.delete(id);
  for (const id of ids ?? []) if (!rows.has(id)) rows.set(id, row(id));
  listEl.replaceChildren(...(ids ?? []).map((id) => rows.get(id).li));
});

document.getElementById('add').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = event.target.elements.title;
  if (input.value.trim()) post('/api/todos', { title: input.value }).then(() => (input.value = ''));
});
