// The page of the Chromium test of `createSharedClient`: shows the keys named in `?ids=` and
// exposes what the test reads. Bundled from source by shared-tabs.test.ts.
import { createSharedClient } from '../src/shared.js';

interface Tab {
  isLeader(): boolean;
  state(): string;
  states: string[];
  errors: string[];
}
declare global {
  interface Window {
    tab: Tab;
  }
}

const params = new URLSearchParams(location.search);
const client = createSharedClient<{ items: { id: string; title: string } }>({
  url: params.get('ws')!,
  name: 'tabs-test',
  retry: { minDelayMs: 50, maxDelayMs: 200 },
});
window.tab = { isLeader: () => client.isLeader, state: () => client.state, states: [], errors: [] };
client.on('state', (state) => window.tab.states.push(state));
client.on('error', (error) => window.tab.errors.push(`${error.code}: ${error.message}`));

const list = document.body.appendChild(document.createElement('ul'));
for (const id of (params.get('ids') ?? '1').split(',')) {
  const li = list.appendChild(document.createElement('li'));
  li.dataset['id'] = id;
  client.subscribe({ entity: 'items', id }, (item) => (li.textContent = item ? item.title : '(gone)'));
}
