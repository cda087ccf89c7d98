import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, environmentFingerprint, parseEnv, parseFleet } from './load';

const example = readFileSync(join(__dirname, '../../runner-ops.example.yml'), 'utf8');

describe('parseFleet', () => {
  it('accepts the example file with its defaults filled in', () => {
    const fleet = parseFleet(example);
    const prod = fleet.environments.prod;
    expect(prod?.workers.instanceTypes).toEqual(['c8g.medium', 'c7g.medium']);
    expect(prod?.gitlab.staleAfterDays).toBe(14);
    expect(prod?.manager.drainTimeoutMinutes).toBe(30);
    expect(fleet.alerts.storm).toEqual({ threshold: 5, windowSeconds: 120 });
  });

  it('lists every problem by path at once', () => {
    const broken = example
      .replace('instanceTypes: [c8g.medium, c7g.medium]', 'instanceTypes: ["c8g.medium; rm -rf /"]')
      .replace('subnetId: subnet-0bbb', 'subnetId: net-0bbb')
      .replace('region: eu-central-1', 'region: Europe');
    let caught: unknown;
    try { parseFleet(broken); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^environments\.prod\.workers\.instanceTypes\.0: /),
      expect.stringMatching(/^environments\.prod\.workers\.subnetId: /),
      expect.stringMatching(/^environments\.prod\.region: /),
    ]));
    expect(problems).toHaveLength(3);
  });

  it.each([
    ['unknown key', 'zone: a', 'zone: a\n      zonee: b', /environments\.prod\.workers: .*zonee/],
    ['verify image outside the registries', 'verifyImage: 123456789012', 'verifyImage: 999999999999', /environments\.prod\.ecr\.verifyImage: names registry/],
    ['group id missing', 'groupId: 42', 'projectId: 42', /environments\.prod\.gitlab\.groupId: is required/],
    ['YAML syntax', 'alerts:', 'alerts: [', /YAML/],
  ])('rejects %s', (_name, from, to, pattern) => {
    expect(() => parseFleet(example.replace(from, to))).toThrow(pattern);
  });

  it('fingerprints an environment independently of key order', () => {
    const a = parseFleet(example).environments.prod;
    const b = parseFleet(example.replace('    region: eu-central-1\n', '').replace('    channel: C0PRODOPS\n', '    channel: C0PRODOPS\n    region: eu-central-1\n')).environments.prod;
    if (a === undefined || b === undefined) throw new Error('prod missing');
    expect(environmentFingerprint(a)).toBe(environmentFingerprint(b));
    const c = parseFleet(example.replace('rootSizeGb: 30', 'rootSizeGb: 40')).environments.prod;
    if (c === undefined) throw new Error('prod missing');
    expect(environmentFingerprint(c)).not.toBe(environmentFingerprint(a));
  });
});

describe('parseEnv', () => {
  it('lists every problem and never prints a value', () => {
    const secret = 'not-a-valid-token-SECRETVALUE';
    let message = '';
    try {
      parseEnv({ SLACK_BOT_TOKEN: secret, PORT: 'eighty', REDIS_URL: 'http://x' });
    } catch (err) { message = (err as Error).message; }
    expect(message).toMatch(/SLACK_BOT_TOKEN: must be a bot token/);
    expect(message).toMatch(/PORT: must be a port number/);
    expect(message).toMatch(/REDIS_URL: /);
    expect(message).toMatch(/SLACK_SIGNING_SECRET: is required in HTTP mode/);
    expect(message).not.toContain(secret);
  });

  it('fills in the defaults', () => {
    const env = parseEnv({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 's' });
    expect(env).toMatchObject({ PORT: 3000, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: 'runner-ops', SLACK_API_URL: 'https://slack.com/api/', GITLAB_URL: 'https://gitlab.com', RUNNER_OPS_CONFIG: './runner-ops.yml', LOG_LEVEL: 'info' });
  });
});
