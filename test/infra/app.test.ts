/**
 * The infra app as a whole: the config is validated with every problem listed, the example config
 * synthesizes, an environment-agnostic bot stack works, and the templates deploy without CDK
 * bootstrap (no assets, no bootstrap-version rule).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/lib/app';
import { InfraConfigError, loadInfraConfig, parseInfraConfig } from '../../infra/lib/config';
import { REPO_ROOT } from './support/fixtures';
import { managedPolicyStatements } from './support/iam';

function problems(input: unknown): string[] {
  try {
    parseInfraConfig(input);
  } catch (err) {
    if (err instanceof InfraConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('the infra config', () => {
  it('lists every problem by path', () => {
    expect(problems({
      bot: { region: 'eu-central-1' },
      environments: {
        Prod: { region: 'eu-central-1' },
        prod: { account: '222222222222', region: 'mars-1', tokenParameter: '/elsewhere/token' },
      },
      runtime: { image: 'x', fleetFile: 'runner-ops.yml' },
    })).toEqual([
      'environments.Prod: must be lowercase letters, digits and dashes, starting with a letter, at most 32 characters',
      'environments.prod.region: must be an AWS region such as eu-central-1',
      'environments.prod.tokenParameter: must start with /runner-ops/ (the bot may only touch parameters under that path)',
      'runtime.availabilityZones: set either vpc (an existing VPC) or availabilityZones (for a new VPC)',
    ]);
  });

  it('needs the bot account when environments live in other accounts', () => {
    expect(problems({ bot: { region: 'eu-central-1' }, environments: { prod: { account: '222222222222', region: 'eu-central-1' } } }))
      .toEqual(['bot.account: is required when environments live in other accounts (prod): their role trusts the bot role by ARN']);
  });

  it('refuses unknown keys', () => {
    expect(problems({ bot: { region: 'eu-central-1', acount: '1' }, environments: { prod: { region: 'eu-central-1' } } }))
      .toEqual(['bot: Unrecognized key: "acount"']);
  });
});

describe('synthesis', () => {
  let outdir: string;
  beforeEach(() => { outdir = mkdtempSync(join(tmpdir(), 'runner-ops-infra-app-')); });
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));

  it('builds every stack from the example config, each warning that it is the example', () => {
    const built = buildApp(loadInfraConfig(resolve(REPO_ROOT, 'infra/config.example.json')), { repoRoot: REPO_ROOT, outdir, exampleConfig: true });
    const assembly = built.app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual([
      'RunnerOpsAccount-210987654321', 'RunnerOpsBot', 'RunnerOpsEvents-123456789012-eu-central-1',
      'RunnerOpsEvents-210987654321-eu-central-1', 'RunnerOpsRuntime',
    ]);
    Annotations.fromStack(built.bot).hasWarning('/RunnerOpsBot', Match.stringLikeRegexp('config.example.json'));
    for (const stack of assembly.stacks) {
      // Deployable by uploading the template: no bootstrap-version rule or parameter, no assets
      // besides the template itself (no Lambda code, no container image to build).
      const template = stack.template as Record<string, unknown>;
      expect(template.Rules).toBeUndefined();
      expect(template.Parameters).toBeUndefined();
      const assets = JSON.parse(readFileSync(join(outdir, `${stack.stackName}.assets.json`), 'utf8')) as { files: Record<string, { source: { path: string } }>; dockerImages: Record<string, unknown> };
      expect(Object.values(assets.files).map((f) => f.source.path)).toEqual([`${stack.stackName}.template.json`]);
      expect(assets.dockerImages).toEqual({});
    }
  });

  it('builds an environment-agnostic bot stack when no account is named', () => {
    const built = buildApp(parseInfraConfig({ bot: { region: 'eu-central-1' }, environments: { staging: { region: 'eu-central-1' } } }), { repoRoot: REPO_ROOT, outdir });
    const template = Template.fromStack(built.bot);
    const parameters = managedPolicyStatements(template, 'runner-ops-bot').find((s) => s.Sid === 'SsmTokenParameters');
    expect(parameters?.Resource).toEqual({ 'Fn::Join': ['', ['arn:aws:ssm:*:', { Ref: 'AWS::AccountId' }, ':parameter/runner-ops/*']] });
    expect(built.accounts).toEqual([]);
    expect(built.runtime).toBeUndefined();
    expect(built.events.map((s) => s.stackName)).toEqual(['RunnerOpsEvents-eu-central-1']);
  });
});
