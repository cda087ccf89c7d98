export { gatherStatus, isRemovableStale, isStale, STATUS_TIMEOUT_MS, TOKEN_EXPIRY_WARNING_DAYS, type StatusDeps } from './gather';
export { renderStatusBlocks, linesSection, REMOVE_STALE_ACTION_ID, type SlackBlock } from './render';
export type { OpenOperationSummary, RunnerReport, SourceResult, SpotEventKind, SpotEventSummary, StatusReport } from './types';
