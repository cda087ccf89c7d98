/**
 * A small GitLab API fake on 127.0.0.1 for gitbeaker tests and `npm run bench` (test/fakes/gitlab-fake.ts
 * re-exports it). Routes are registered per test; every
 * request is recorded; a request no route answers is recorded as unexpected, answered with 418,
 * and `assertNoUnexpected()` (call it in afterEach) fails the test.
 *
 *   const fake = await startGitlabFake({ token: 'glpat-test' });
 *   fake.on('GET', '/groups/42/runners', { body: [...] });
 *   const gitlab = new Gitlab({ host: fake.url, token: 'glpat-test' });
 *
 * Paths are relative to /api/v4.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  /** Path below /api/v4, without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
}

export type FakeHandler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

interface Route {
  method: string;
  path: string | RegExp;
  handler: FakeHandler;
}

export interface GitlabFake {
  /** `http://127.0.0.1:<port>`: the `host` for gitbeaker. */
  readonly url: string;
  readonly requests: FakeRequest[];
  readonly unexpected: FakeRequest[];
  on(method: string, path: string | RegExp, response: FakeHandler | FakeResponse): void;
  /** Forget routes and recorded requests (between tests). */
  reset(): void;
  assertNoUnexpected(): void;
  close(): Promise<void>;
}

const API_PREFIX = '/api/v4';

export async function startGitlabFake(opts: { token?: string } = {}): Promise<GitlabFake> {
  let routes: Route[] = [];
  const requests: FakeRequest[] = [];
  const unexpected: FakeRequest[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const path = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length) : url.pathname;
        const recorded: FakeRequest = { method: req.method ?? 'GET', path, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        requests.push(recorded);
        const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(body === undefined ? '' : JSON.stringify(body));
        };
        if (opts.token !== undefined && req.headers['private-token'] !== opts.token) {
          send(401, { message: '401 Unauthorized' });
          return;
        }
        const route = routes.find((r) => r.method === recorded.method && (typeof r.path === 'string' ? r.path === path : r.path.test(path)));
        if (route === undefined) {
          unexpected.push(recorded);
          send(418, { message: `gitlab-fake: no route for ${recorded.method} ${path}` });
          return;
        }
        try {
          const answer = await route.handler(recorded);
          if (answer.delayMs !== undefined) await new Promise((r) => setTimeout(r, answer.delayMs).unref());
          if (!res.destroyed) send(answer.status ?? 200, answer.body, answer.headers);
        } catch (err) {
          send(500, { message: `gitlab-fake handler threw: ${String(err)}` });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    requests,
    unexpected,
    on(method, path, response) {
      const handler: FakeHandler = typeof response === 'function' ? response : () => response;
      routes.push({ method: method.toUpperCase(), path, handler });
    },
    reset() {
      routes = [];
      requests.length = 0;
      unexpected.length = 0;
    },
    assertNoUnexpected() {
      if (unexpected.length > 0) {
        const list = unexpected.map((r) => `${r.method} ${r.path}?${r.query.toString()}`).join(', ');
        throw new Error(`gitlab-fake received unexpected requests: ${list}`);
      }
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/**
 * A handler that pages `items` the way GitLab does (`page`, `per_page`, `Link: rel="next"` with
 * the full URL of the next page, `x-next-page`).
 */
export function paged(baseUrl: string, items: readonly unknown[]): FakeHandler {
  return (req) => {
    const perPage = Math.max(1, Number(req.query.get('per_page') ?? '20'));
    const page = Math.max(1, Number(req.query.get('page') ?? '1'));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = { 'x-page': String(page), 'x-per-page': String(perPage), 'x-total': String(items.length) };
    if (page * perPage < items.length) {
      const next = new URLSearchParams(req.query);
      next.set('page', String(page + 1));
      headers.link = `<${baseUrl}${API_PREFIX}${req.path}?${next.toString()}>; rel="next"`;
      headers['x-next-page'] = String(page + 1);
    }
    return { body: slice, headers };
  };
}

/** A loopback URL on which nothing listens (connection refused). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
