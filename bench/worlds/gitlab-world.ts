/**
 * GitLab's runner API as a small stateful world on top of the GitLab HTTP fake: POST /user/runners
 * creates a runner with a fresh glrt- token, group listings page like GitLab, GET /runners/:id
 * reports `online` once the AWS world has written that runner's token into a running manager's
 * config.toml, DELETE /runners/:id removes it. `failNext` makes one request fail with a status.
 */
import { randomBytes } from 'node:crypto';
import { paged, type FakeRequest, type GitlabFake } from './gitlab-fake';

export interface WorldRunner {
  id: number;
  description: string;
  token: string;
  status: 'online' | 'offline' | 'stale' | 'never_contacted';
  tags: string[];
  body: Record<string, unknown>;
  /** When GitLab last heard from it (details only); unset: now when online, never otherwise. */
  contactedAt?: Date;
  /** Reported as `created_at` (list and details) when set. */
  createdAt?: Date;
}

export class GitlabWorld {
  readonly runners = new Map<number, WorldRunner>();
  readonly created: WorldRunner[] = [];
  readonly deleted: number[] = [];
  private nextId = 100;
  private failures: { method: string; path: RegExp; status: number }[] = [];
  /** When true, no runner comes online whatever its manager does (for rollback tests). */
  neverComesOnline = false;

  constructor(private readonly fake: GitlabFake) { this.install(); }

  /** Forgets every runner and record and re-registers the routes (after `fake.reset()`). */
  reset(): void {
    this.runners.clear();
    this.created.length = 0;
    this.deleted.length = 0;
    this.failures = [];
    this.neverComesOnline = false;
    this.install();
  }

  /** Re-registers the routes after `fake.reset()`. */
  install(): void {
    const gate = (req: FakeRequest) => {
      const i = this.failures.findIndex((f) => f.method === req.method && f.path.test(req.path));
      if (i < 0) return undefined;
      const [f] = this.failures.splice(i, 1);
      return { status: f?.status ?? 500, body: { message: `${f?.status ?? 500} injected` } };
    };
    this.fake.on('POST', '/user/runners', (req) => {
      const failed = gate(req);
      if (failed !== undefined) return failed;
      const body = JSON.parse(req.body === '' ? '{}' : req.body) as Record<string, unknown>;
      this.nextId += 1;
      const runner: WorldRunner = {
        id: this.nextId, description: String(body.description ?? ''), token: `glrt-${randomBytes(12).toString('hex')}`,
        status: 'never_contacted', tags: Array.isArray(body.tag_list) ? body.tag_list.map(String) : String(body.tag_list ?? '').split(',').filter(Boolean), body,
      };
      this.runners.set(runner.id, runner);
      this.created.push(runner);
      return { status: 201, body: { id: runner.id, token: runner.token, token_expires_at: null } };
    });
    this.fake.on('GET', /^\/groups\/42\/runners$/, (req) => {
      const failed = gate(req);
      if (failed !== undefined) return failed;
      return paged(this.fake.url, [...this.runners.values()].map((r) => this.listed(r)))(req);
    });
    this.fake.on('GET', /^\/runners\/\d+$/, (req) => {
      const failed = gate(req);
      if (failed !== undefined) return failed;
      const r = this.runners.get(Number(req.path.split('/')[2]));
      if (r === undefined) return { status: 404, body: { message: '404 Not found' } };
      const contacted = r.contactedAt?.toISOString() ?? (r.status === 'online' ? new Date().toISOString() : null);
      return { body: { ...this.listed(r), contacted_at: contacted, tag_list: r.tags, version: '18.5.0' } };
    });
    this.fake.on('DELETE', /^\/runners\/\d+$/, (req) => {
      const failed = gate(req);
      if (failed !== undefined) return failed;
      const id = Number(req.path.split('/')[2]);
      if (!this.runners.delete(id)) return { status: 404, body: { message: '404 Not found' } };
      this.deleted.push(id);
      return { status: 204 };
    });
  }

  private listed(r: WorldRunner) {
    return {
      id: r.id, description: r.description, paused: false, is_shared: false, runner_type: 'group_type', online: r.status === 'online', status: r.status, ip_address: '',
      ...(r.createdAt === undefined ? {} : { created_at: r.createdAt.toISOString() }),
    };
  }

  /** A runner that exists before the test's operation. */
  addRunner(description: string, status: WorldRunner['status'] = 'online', dates: { contactedAt?: Date; createdAt?: Date } = {}): WorldRunner {
    this.nextId += 1;
    const r: WorldRunner = { id: this.nextId, description, token: `glrt-${randomBytes(12).toString('hex')}`, status, tags: ['docker'], body: {}, ...dates };
    this.runners.set(r.id, r);
    return r;
  }

  /** The AWS world wrote `token` into a running manager's config.toml: that runner connects. */
  connect(token: string): void {
    for (const r of this.runners.values()) if (r.token === token && !this.neverComesOnline) r.status = 'online';
  }

  failNext(method: string, path: RegExp, status: number): void { this.failures.push({ method, path, status }); }
}
