import type { IncomingMessage, Server, ServerResponse } from 'node:http';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

const BODY = 'This is a WebSocket endpoint (entity-sync): connect with a WebSocket client.\n';

/**
 * Answers plain HTTP requests (no upgrade) on the transport's path with 426 Upgrade Required,
 * so health checks and crawlers get an answer instead of a socket left open; every other request
 * goes to the listeners the server had, in order. When the server had no `request` listener at
 * all, other requests get 404 rather than no answer. Returns a function that restores the
 * server's own listeners.
 */
export function answerPlainRequests(server: Server, isOurs: (req: IncomingMessage) => boolean): () => void {
  const own = server.listeners('request') as RequestListener[];
  const dispatch: RequestListener = (req, res) => {
    if (isOurs(req)) {
      res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'Upgrade' }).end(BODY);
    } else if (own.length === 0 && server.listenerCount('request') === 1) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not Found\n');
    } else {
      for (const listener of own) listener.call(server, req, res);
    }
  };
  server.removeAllListeners('request');
  server.on('request', dispatch);
  return () => {
    server.off('request', dispatch);
    for (const listener of own) server.on('request', listener);
  };
}
