import { systemClock } from '../domain/clock';
import { RunnerOpsError } from '../domain/errors';
import { DEFAULT_TIMINGS, type ManagerOpsDeps } from './manager/deps';
import { plannedRunnerIds, RUNNERS_ARG, staleRunnersOperation } from './stale-runners';

const deps: ManagerOpsDeps = {
  aws: { forEnvironment: () => { throw new Error('no AWS in this test'); } },
  gitlab: undefined,
  gitlabUrl: 'https://gitlab.example.com',
  clock: systemClock,
  timings: DEFAULT_TIMINGS,
};

describe('staleRunnersOperation', () => {
  const op = staleRunnersOperation(deps);

  it('is the button-only verb remove-stale, selecting before deleting', () => {
    expect(op.verb).toBe('remove-stale');
    expect(op.steps.map((s) => s.name)).toEqual(['select', 'delete']);
  });

  it('says which runners were deleted, which were already gone and which were kept', () => {
    expect(op.summarize?.({ select: { runners: [12, 13, 14], kept: [15] }, delete: { deleted: [12, 13], gone: [14] } }))
      .toBe('Deleted stale runner(s) #12, #13 in GitLab. Already gone: #14. Kept (no longer stale): #15.');
    expect(op.summarize?.({ select: { runners: [], kept: [] }, delete: { deleted: [], gone: [] } })).toBe('No stale runner was deleted.');
  });
});

describe('plannedRunnerIds', () => {
  it.each<[string, number[]]>([
    ['', []],
    ['12', [12]],
    ['12,13,12', [12, 13]],
  ])('%j -> %j', (raw, expected) => {
    expect(plannedRunnerIds({ [RUNNERS_ARG]: raw })).toEqual(expected);
  });

  it.each([undefined, '12,', 'a', '12;13', ' 12'])('refuses %j: nothing is deleted without the plan\'s list', (raw) => {
    expect(() => plannedRunnerIds(raw === undefined ? {} : { [RUNNERS_ARG]: raw })).toThrow(RunnerOpsError);
  });
});
