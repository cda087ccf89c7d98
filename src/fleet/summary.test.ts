import { explainVerifyFailure, parseSummaryLines, readManagerResult, readVerifyEcrResult } from './summary';

describe('summary lines', () => {
  it('reads phase and manager lines among step markers', () => {
    const out = ['==> detect', '{"kind":"phase","phase":"host","changed":false}', '==> verify', '{"kind":"phase","phase":"runner","changed":true}',
      '{"kind":"manager","environment":"prod","instanceId":"i-0123456789abcdef0","region":"eu-central-1","arch":"arm64","distro":"ubuntu-24.04","keyPair":"runner-ops-prod-i-0123456789abcdef0","workerAmi":"ami-0123456789abcdef0","versions":{"gitlabRunner":"18.5.0","dockerMachine":"0.16.2-gitlab.21","ecrCredentialHelper":"0.11.0"},"restarted":false,"changed":true}'].join('\n');
    const r = readManagerResult(out);
    expect(r.changed).toBe(true);
    expect(r.manager?.keyPair).toBe('runner-ops-prod-i-0123456789abcdef0');
    expect(r.failure).toBeUndefined();
  });

  it('is an external error for a malformed line', () => {
    expect(() => parseSummaryLines('{"kind":"manager"}')).toThrow(/unexpected summary line/);
    expect(() => parseSummaryLines('{"kind": nope')).toThrow(/not JSON/);
  });

  it('needs all three levels for a verified fleet', () => {
    expect(readVerifyEcrResult('{"kind":"verify-ecr","level":"host","result":"ok","seconds":1}\n{"kind":"verify-ecr-summary","image":"x","ok":true}').ok).toBe(false);
  });

  it.each([
    [{ level: 'dind', error: 'no basic auth credentials', helperError: 'ec2imds: GetMetadata, request canceled' }, /instance metadata unreachable from the container \(hop limit\)/],
    [{ level: 'host', error: 'no basic auth credentials', helperError: '' }, /instance profile/],
    [{ level: 'container', error: 'manifest unknown', helperError: '' }, /does not exist/],
  ] as const)('explains %j', (fields, pattern) => {
    expect(explainVerifyFailure({ kind: 'verify-ecr', result: 'failed', seconds: 1, ...fields })).toMatch(pattern);
  });
});
