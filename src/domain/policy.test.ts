import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../config/fleet-schema';
import { parseFleet } from '../config/load';
import { CHANGING_VERBS, type ChangingVerb } from './command';
import {
  approvalExpiresAt,
  approvalRequired,
  approversConfigured,
  canCancel,
  canRequest,
  decideApproval,
  type DecideApprovalInput,
  isApprover,
} from './policy';

const example = parseFleet(readFileSync(join(__dirname, '../../runner-ops.example.yml'), 'utf8'));
const prod = example.environments.prod;
if (prod === undefined) throw new Error('the example fleet file has no prod environment');

type Approval = EnvironmentConfig['approval'];
const APPROVAL: Approval = { required: true, approvers: ['U0CAROL'], approverGroups: ['S0SRE'], allowSelfApproval: false, expiresAfterMinutes: 30 };

function env(approval: Partial<Approval> = {}, operators?: string[]): EnvironmentConfig {
  const { operators: _ignored, ...rest } = prod as EnvironmentConfig;
  return { ...rest, ...(operators === undefined ? {} : { operators }), approval: { ...APPROVAL, ...approval } };
}

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const MINUTE = 60_000;

function decide(overrides: Partial<DecideApprovalInput>): ReturnType<typeof decideApproval> {
  return decideApproval({
    env: env(),
    verb: 'rotate',
    requesterId: 'U0ALICE',
    deciderId: 'U0CAROL',
    deciderGroups: [],
    requestedAt: T0,
    now: T0 + MINUTE,
    decision: 'approve',
    ...overrides,
  });
}

describe('canRequest', () => {
  it.each([
    ['operators absent: anyone', undefined, 'U0ANYONE', true],
    ['listed operator', ['U0ALICE', 'U0BOB'], 'U0BOB', true],
    ['not listed', ['U0ALICE', 'U0BOB'], 'U0MALLORY', false],
    ['empty list: nobody', [], 'U0ALICE', false],
    ['ids are exact (case)', ['U0ALICE'], 'u0alice', false],
  ])('%s', (_name, operators, user, expected) => {
    expect(canRequest(env({}, operators), user)).toBe(expected);
  });

  it('reads the example fleet file as written (operators listed)', () => {
    expect(canRequest(prod, 'U0ALICE')).toBe(true);
    expect(canRequest(prod, 'U0CAROL')).toBe(false);
  });
});

describe('approvalRequired', () => {
  it.each(CHANGING_VERBS.flatMap((verb) => [
    [verb, true, true],
    [verb, false, verb === 'destroy'],
  ]))('%s with approval.required %s → %s', (verb, required, expected) => {
    expect(approvalRequired(env({ required }), verb as ChangingVerb)).toBe(expected);
  });
});

describe('approversConfigured', () => {
  it.each([
    ['users and groups', ['U0CAROL'], ['S0SRE'], true],
    ['users only', ['U0CAROL'], [], true],
    ['groups only', [], ['S0SRE'], true],
    ['none (possible only where approval is not required)', [], [], false],
  ])('%s → %s', (_name, approvers, approverGroups, expected) => {
    expect(approversConfigured(env({ required: false, approvers, approverGroups }))).toBe(expected);
  });
});

describe('isApprover', () => {
  it.each([
    ['a listed user', 'U0CAROL', [], true],
    ['a member of a listed group', 'U0DAVE', ['S0SRE'], true],
    ['a member of a listed group among others', 'U0DAVE', ['S0OTHER', 'S0SRE'], true],
    ['a member of an unlisted group only', 'U0DAVE', ['S0OTHER'], false],
    ['neither', 'U0DAVE', [], false],
  ])('%s → %s', (_name, user, groups, expected) => {
    expect(isApprover(env(), user, groups)).toBe(expected);
  });
});

describe('decideApproval', () => {
  it.each<[string, Partial<DecideApprovalInput>]>([
    ['a listed approver approves', {}],
    ['a listed approver rejects', { decision: 'reject' }],
    ['a member of a listed group approves', { deciderId: 'U0DAVE', deciderGroups: ['S0SRE'] }],
    ['the requester approves with allowSelfApproval', { requesterId: 'U0CAROL', env: env({ allowSelfApproval: true }) }],
    ['the requester, an approver, rejects (withdrawal)', { requesterId: 'U0CAROL', decision: 'reject' }],
    ['the requester, not an approver, rejects (withdrawal)', { deciderId: 'U0ALICE', decision: 'reject' }],
    ['the requester withdraws a destroy', { verb: 'destroy', deciderId: 'U0ALICE', decision: 'reject' }],
    ['another approver approves a destroy', { verb: 'destroy' }],
    ['a destroy on an environment without required approval, by a listed approver', { verb: 'destroy', env: env({ required: false }) }],
    ['one millisecond before expiry', { now: T0 + 30 * MINUTE - 1 }],
    ['a clock slightly behind the request', { now: T0 - 5000 }],
  ])('allows: %s', (_name, overrides) => {
    expect(decide(overrides)).toEqual({ ok: true });
  });

  it.each<[string, Partial<DecideApprovalInput>, 'not_approver' | 'self_approval' | 'expired']>([
    ['someone not listed approves', { deciderId: 'U0MALLORY' }, 'not_approver'],
    ['someone not listed rejects', { deciderId: 'U0MALLORY', decision: 'reject' }, 'not_approver'],
    ['a member of an unlisted group', { deciderId: 'U0DAVE', deciderGroups: ['S0OTHER'] }, 'not_approver'],
    ['an operator who is not an approver', { deciderId: 'U0BOB' }, 'not_approver'],
    ['the requester, not an approver, approves', { deciderId: 'U0ALICE' }, 'not_approver'],
    ['a stranger after expiry (no state change for strangers)', { deciderId: 'U0MALLORY', now: T0 + 31 * MINUTE }, 'not_approver'],
    ['the requester approves without allowSelfApproval', { requesterId: 'U0CAROL' }, 'self_approval'],
    ['the requester approves a destroy despite allowSelfApproval', { verb: 'destroy', requesterId: 'U0CAROL', env: env({ allowSelfApproval: true }) }, 'self_approval'],
    ['the requester, a group approver, approves', { requesterId: 'U0DAVE', deciderId: 'U0DAVE', deciderGroups: ['S0SRE'] }, 'self_approval'],
    ['exactly at expiry', { now: T0 + 30 * MINUTE }, 'expired'],
    ['after expiry', { now: T0 + 2 * 60 * MINUTE }, 'expired'],
    ['a rejection after expiry', { now: T0 + 31 * MINUTE, decision: 'reject' }, 'expired'],
    ['a withdrawal after expiry', { deciderId: 'U0ALICE', decision: 'reject', now: T0 + 31 * MINUTE }, 'expired'],
    ['after a custom expiry', { env: env({ expiresAfterMinutes: 5 }), now: T0 + 5 * MINUTE }, 'expired'],
    ['self-approval after expiry (expiry is reported first)', { requesterId: 'U0CAROL', now: T0 + 31 * MINUTE }, 'expired'],
    ['a NaN clock (fails closed)', { now: Number.NaN }, 'expired'],
    ['a NaN request time (fails closed)', { requestedAt: Number.NaN }, 'expired'],
  ])('refuses: %s → %s', (_name, overrides, reason) => {
    const result = decide(overrides);
    expect(result).toMatchObject({ ok: false, reason });
    if (!result.ok) {
      expect(result.message).not.toMatch(/\n/);
      expect(result.message.length).toBeGreaterThan(10);
    }
  });

  it('says which rule a destroy self-approval broke', () => {
    const result = decide({ verb: 'destroy', requesterId: 'U0CAROL', env: env({ allowSelfApproval: true }) });
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining('destroy') });
  });

  it('names the expiry period', () => {
    expect(decide({ env: env({ expiresAfterMinutes: 45 }), now: T0 + 46 * MINUTE })).toMatchObject({ message: expect.stringContaining('45 minutes') });
  });

  it('nobody can approve a destroy where no approvers are listed (the caller refuses it up front)', () => {
    const bare = env({ required: false, approvers: [], approverGroups: [] });
    expect(approversConfigured(bare)).toBe(false);
    for (const deciderId of ['U0ALICE', 'U0CAROL', 'U0DAVE']) {
      expect(decide({ env: bare, verb: 'destroy', deciderId, deciderGroups: ['S0SRE'] })).toMatchObject({ ok: false, reason: 'not_approver' });
    }
  });
});

describe('approvalExpiresAt', () => {
  it('is expiresAfterMinutes after the request', () => {
    expect(approvalExpiresAt(env({ expiresAfterMinutes: 30 }), T0)).toBe(T0 + 30 * MINUTE);
  });
});

describe('canCancel', () => {
  it.each([
    ['the requester', 'U0ALICE', [], true],
    ['a listed approver', 'U0CAROL', [], true],
    ['a member of a listed group', 'U0DAVE', ['S0SRE'], true],
    ['another operator', 'U0BOB', [], false],
    ['a member of an unlisted group', 'U0DAVE', ['S0OTHER'], false],
    ['a stranger', 'U0MALLORY', [], false],
  ])('%s → %s', (_name, userId, userGroups, expected) => {
    expect(canCancel({ env: env(), requesterId: 'U0ALICE', userId, userGroups })).toBe(expected);
  });
});
