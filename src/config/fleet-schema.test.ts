import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderArtifacts } from '../fleet';
import { parseFleet } from './load';

const example = readFileSync(join(__dirname, '../../runner-ops.example.yml'), 'utf8');
const problemsOf = (text: string): string[] => {
  try { parseFleet(text); return []; } catch (err) { return (err as { problems: string[] }).problems; }
};

describe('fleet-schema: what reaches the machines', () => {
  it.each([
    ['a placeholder marker in any value', 'instanceProfile: gitlab-runner-worker', 'instanceProfile: "@@RUNNER_OPS_RUNNER_TOKEN@@"', /^environments\.prod\.workers\.instanceProfile: must not contain @@/],
    ['a gitlab-runner older than 17.7', 'ssm:\n', 'versions:\n      gitlabRunner: 16.11.0\n    ssm:\n', /^environments\.prod\.versions\.gitlabRunner: must be a gitlab-runner release 17\.7\.0 or later/],
  ])('rejects %s', (_name, from, to, pattern) => {
    expect(problemsOf(example.replace(from, to))).toEqual([expect.stringMatching(pattern)]);
  });

  it('loads the CONTRACT example versions; rendering names the binaries this build has no digest for', () => {
    const text = example.replace('ssm:\n', 'versions:\n      gitlabRunner: 18.5.0\n      dockerMachine: 0.16.2-gitlab.40\n      ecrCredentialHelper: 0.12.0\n    ssm:\n');
    expect(problemsOf(text)).toEqual([]);
    const env = parseFleet(text).environments.prod;
    if (env === undefined) throw new Error('prod missing');
    expect(() => renderArtifacts({ envName: 'prod', env, gitlabUrl: 'https://gitlab.com' })).toThrow(/environments\.prod\.versions\.(dockerMachine|ecrCredentialHelper): no pinned sha256/);
  });

  it('accepts pinned versions', () => {
    expect(problemsOf(example.replace('ssm:\n', 'versions:\n      gitlabRunner: 18.5.0\n      dockerMachine: 0.16.2-gitlab.20\n      ecrCredentialHelper: 0.10.1\n    ssm:\n'))).toEqual([]);
  });
});
