/**
 * The compiled bot as a process (what `npm run build && npm start` runs): it refuses to start on
 * a broken fleet file or environment, listing every problem and no secret; with a valid setup it
 * answers /healthz and /metrics, and exits cleanly on SIGTERM.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SlackFake } from './fakes/slack-fake';
import { testFleetYaml, writeTestFleet } from './support/fleet';
import { deletePrefix, testRedisUrl, uniquePrefix } from './support/redis';

const root = join(__dirname, '..');
const main = join(root, 'dist/src/main.js');

beforeAll(() => {
  if (!existsSync(main)) execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}, 120_000);

function run(env: Record<string, string>, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

describe('start-up', () => {
  it('refuses a broken fleet file, listing every problem by path', async () => {
    const broken = testFleetYaml()
      .replace('instanceTypes: [c8g.medium]', 'instanceTypes: ["c8g.medium;reboot"]')
      .replace('subnetId: subnet-0bbb', 'subnetId: banana')
      .replace('groupId: 42', 'groupId: -1');
    const fleet = writeTestFleet(broken.replace(/ {2}stage:[\s\S]*$/, ''), { validate: false }).path;
    const secret = 'xoxb-1111-2222-supersecretvalue';
    const r = await run({ SLACK_BOT_TOKEN: secret, SLACK_SIGNING_SECRET: 'sig-secret-value', RUNNER_OPS_CONFIG: fleet, REDIS_URL: testRedisUrl() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/environments\.prod\.workers\.instanceTypes\.0: /);
    expect(r.stderr).toMatch(/environments\.prod\.workers\.subnetId: /);
    expect(r.stderr).toMatch(/environments\.prod\.gitlab\.groupId: /);
    expect(r.stderr + r.stdout).not.toContain('supersecretvalue');
    expect(r.stderr + r.stdout).not.toContain('sig-secret-value');
  }, 30_000);

  it('refuses a broken environment, listing every variable at once', async () => {
    const r = await run({ SLACK_BOT_TOKEN: 'not-a-token-s3cr3t', PORT: 'x', RUNNER_OPS_CONFIG: '/nonexistent.yml' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/SLACK_BOT_TOKEN: /);
    expect(r.stderr).toMatch(/PORT: /);
    expect(r.stderr).toMatch(/SLACK_SIGNING_SECRET: /);
    expect(r.stderr).not.toContain('s3cr3t');
  }, 30_000);

  it('serves /healthz and /metrics, then stops cleanly on SIGTERM', async () => {
    const slack = await new SlackFake().start();
    const prefix = uniquePrefix('startup');
    const fleet = writeTestFleet().path;
    const port = 30_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 's', SLACK_API_URL: slack.apiUrl, PORT: String(port), REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix, RUNNER_OPS_CONFIG: fleet, LOG_LEVEL: 'warn', AWS_REGION: 'eu-central-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let health: Response | undefined;
      for (let i = 0; i < 100 && health === undefined; i += 1) {
        try { health = await fetch(`http://127.0.0.1:${port}/healthz`); } catch { await new Promise((r) => setTimeout(r, 100)); }
      }
      expect(health?.status).toBe(200);
      expect(await health?.json()).toMatchObject({ status: 'ok', redis: 'ok' });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('runner_ops_queue_depth');
      expect(metrics).toContain('runner_ops_commands_total');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await slack.stop();
      await deletePrefix(prefix);
    }
  }, 30_000);
});
