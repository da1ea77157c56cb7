// The React 19 app the Chromium test drives: rows (useEntity), a detail panel whose key the test
// changes (useEntity), a summary (useEntities) and the connection state, all under StrictMode at
// the root, where React double-mounts every component in development builds.
import { createClient } from '@entity-sync/client';
import { StrictMode, useEffect, useLayoutEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createEntityHooks, EntitySyncProvider, useConnectionState } from '../../src/index.js';

interface Item {
  id: string;
  title: string;
}
type Entities = { items: Item };

interface AppControl {
  setIds(ids: string[]): void;
  setDetail(id: string): void;
}
declare global {
  interface Window {
    app?: AppControl;
    /** What the detail panel showed at each commit: `id|status|title`. */
    detailLog: string[];
    clientErrors: string[];
  }
}

const { useEntity, useEntities } = createEntityHooks<Entities>();
const item = (id: string) => ({ entity: 'items' as const, id });

function Row({ id }: { id: string }) {
  const { status, data, stale } = useEntity(item(id));
  return (
    <li data-id={id} data-status={status} data-stale={String(stale)}>
      {data?.title ?? ''}
    </li>
  );
}

function Detail({ id }: { id: string }) {
  const { status, data } = useEntity(item(id));
  useLayoutEffect(() => void window.detailLog.push(`${id}|${status}|${data?.title ?? ''}`));
  return (
    <section id="detail" data-id={id} data-status={status}>
      {data?.title ?? ''}
    </section>
  );
}

function Summary({ ids }: { ids: string[] }) {
  const results = useEntities(ids.map(item));
  return <p id="summary">{results.map((r) => r.status).join(',')}</p>;
}

function App() {
  const [ids, setIds] = useState(['1', '2']);
  const [detail, setDetail] = useState('1');
  const connection = useConnectionState();
  useEffect(() => {
    window.app = { setIds, setDetail };
  }, []);
  return (
    <main data-connection={connection}>
      <ul id="rows">
        {ids.map((id) => (
          <Row key={id} id={id} />
        ))}
      </ul>
      <Summary ids={ids} />
      <Detail id={detail} />
    </main>
  );
}

window.detailLog = [];
window.clientErrors = [];
const client = createClient<Entities>({
  url: `ws://${location.host}/ws/entity-sync/`,
  retry: { minDelayMs: 50, maxDelayMs: 200 },
});
client.on('error', (error) => window.clientErrors.push(`${error.code}: ${error.message}`));
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <EntitySyncProvider client={client}>
      <App />
    </EntitySyncProvider>
  </StrictMode>,
);
