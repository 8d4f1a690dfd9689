import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export type ProxyRecord = { method: string; target: string };

/**
 * A tiny proxy on loopback, as a corporate egress proxy behaves: CONNECT opens a blind tunnel (HTTPS),
 * any other request must name an absolute URL and is forwarded (plain HTTP). It records what it saw.
 */
export async function startLoopbackProxy() {
  const seen: ProxyRecord[] = [];
  // Tunnels leave the HTTP server's bookkeeping once open: close() ends them itself.
  const tunnels = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', target: req.url ?? '' });
    const target = new URL(req.url ?? '');
    const upstream = request(
      {
        hostname: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req, client, head) => {
    seen.push({ method: 'CONNECT', target: req.url ?? '' });
    const [host, port] = (req.url ?? '').split(':');
    const origin = connect(Number(port), host, () => {
      tunnels.add(origin).add(client as Socket);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      origin.write(head);
      origin.pipe(client);
      client.pipe(origin);
    });
    origin.on('error', () => client.destroy());
    client.on('error', () => origin.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const tunnel of tunnels) tunnel.destroy();
      }),
  };
}
