import { diagnoseVerifyFailure, explainVerifyFailure, parseSummaryLines, readManagerEcrResult, readManagerResult, readVerifyEcrResult, readWorkerReady } from './summary';

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
    // The helper itself answered on the host (no helper error), so docker never asked it.
    [{ level: 'host', error: 'no basic auth credentials', helperError: '' }, /missing credHelpers entry/],
    [{ level: 'host', error: 'no basic auth credentials', helperError: 'ecr-login: no EC2 IMDS role found, operation error ec2imds: GetMetadata' }, /instance profile/],
    [{ level: 'container', error: 'manifest unknown', helperError: '' }, /does not exist/],
  ] as const)('explains %j', (fields, pattern) => {
    expect(explainVerifyFailure({ kind: 'verify-ecr', result: 'failed', seconds: 1, ...fields })).toMatch(pattern);
  });

  const ECR = '123456789012.dkr.ecr.eu-central-1.amazonaws.com';
  // Outputs as verify-ecr.sh and manager-ecr-check.sh print them: docker's last error line and the helper's.
  it.each([
    ['hop limit 1 (dind)', { level: 'dind', error: `Error response from daemon: Head "https://${ECR}/v2/ci/base/manifests/latest": no basic auth credentials`, helperError: 'ecr-login: error getting credentials: ec2imds: GetMetadata, request canceled, context deadline exceeded (169.254.169.254)' },
      /^no basic auth credentials: instance metadata unreachable from the container \(hop limit\)[\s\S]*Fix: set the IMDSv2 hop limit to 2/],
    ['hop limit 1 (container)', { level: 'container', error: 'no basic auth credentials', helperError: 'failed to refresh cached credentials, no EC2 IMDS role found' }, /hop limit[\s\S]*HttpPutResponseHopLimit/],
    ['missing IAM action (helper)', { level: 'host', error: 'no basic auth credentials', helperError: 'ecr-login: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/gitlab-runner-worker/i-0abc is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action' },
      /^the worker's instance role may not call ecr:GetAuthorizationToken[\s\S]*Fix: allow ecr:GetAuthorizationToken in the role of workers\.instanceProfile/],
    ['missing IAM action (pull)', { level: 'container', error: `Error response from daemon: pull access denied for ${ECR}/ci/base, repository does not exist or may require 'docker login': denied: User: arn:aws:sts::123456789012:assumed-role/gitlab-runner-worker/i-0abc is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:eu-central-1:123456789012:repository/ci/base`, helperError: '' },
      /may not call ecr:BatchGetImage/],
    ['missing IAM action (manager)', { level: 'manager', error: 'ecr-login: AccessDeniedException: is not authorized to perform: ecr:GetAuthorizationToken', helperError: '' }, /manager's instance role[\s\S]*manager\.instanceProfile/],
    ['missing credHelpers entry (manager)', { level: 'manager', error: `no credHelpers entry "ecr-login" for ${ECR} in /root/.docker/config.json (found: none): gitlab-runner will not ask the helper`, helperError: '' },
      /missing credHelpers entry[\s\S]*Fix: list the registry in ecr\.registries: the bootstrap merges/],
    ['missing credHelpers entry (host)', { level: 'host', error: `Error response from daemon: Head "https://${ECR}/v2/ci/base/manifests/latest": no basic auth credentials`, helperError: '' }, /missing credHelpers entry[\s\S]*worker user data merges/],
    ['helper of the wrong architecture (container)', { level: 'container', error: 'error getting credentials - err: fork/exec /usr/local/bin/docker-credential-ecr-login: exec format error, out: ``', helperError: 'exec /usr/local/bin/docker-credential-ecr-login: exec format error' },
      /^the credential helper binary is built for another CPU architecture[\s\S]*Fix: mount the worker's own helper/],
    ['helper of the wrong architecture (manager)', { level: 'manager', error: 'exec format error', helperError: '' }, /another CPU architecture than the manager[\s\S]*bootstrap/],
    ['helper not mounted', { level: 'dind', error: 'error getting credentials - err: exec: "docker-credential-ecr-login": executable file not found in $PATH, out: ``', helperError: '' }, /helper is missing on the job container[\s\S]*must mount/],
    ['image absent (tag)', { level: 'host', error: `Error response from daemon: manifest for ${ECR}/ci/base:nope not found: manifest unknown: Requested image not found`, helperError: '' }, /^the image does not exist[\s\S]*Fix: push the image/],
    ['image absent (repository)', { level: 'dind', error: `Error response from daemon: repository ${ECR}/nope not found: name unknown: The repository with name 'nope' does not exist in the registry with id '123456789012'`, helperError: '' }, /the image does not exist/],
  ] as const)('diagnoses %s', (_name, fields, pattern) => {
    expect(explainVerifyFailure({ result: 'failed', ...fields })).toMatch(pattern);
  });

  it('keeps the words of a failure it does not know, without inventing a fix', () => {
    expect(explainVerifyFailure({ level: 'host', result: 'failed', error: 'disk full', helperError: '' })).toBe('disk full');
    expect(diagnoseVerifyFailure({ level: 'host', result: 'failed', error: 'disk full' })).toEqual({ cause: '', fix: '', said: 'disk full' });
  });

  it('reads the manager-ecr and worker readiness lines', () => {
    expect(readManagerEcrResult(`{"kind":"manager-ecr","registry":"${ECR}","ok":true,"seconds":1,"credHelper":"ecr-login","error":""}`)).toMatchObject({ ok: true, credHelper: 'ecr-login' });
    expect(readWorkerReady('{"kind":"worker-wait","cloudInit":"running"}')).toEqual({ waiting: { kind: 'worker-wait', cloudInit: 'running' } });
    expect(readWorkerReady('{"kind":"worker","environment":"prod","variant":"verify","arch":"arm64","distro":"ubuntu-24.04","ecrCredentialHelper":"0.12.0","changed":true}')).toMatchObject({ ready: { arch: 'arm64' } });
    expect(readWorkerReady('')).toBeUndefined();
  });
});
