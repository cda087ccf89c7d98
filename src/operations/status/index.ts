export { gatherStatus, isStale, STATUS_TIMEOUT_MS, TOKEN_EXPIRY_WARNING_DAYS, type StatusDeps } from './gather';
export { renderStatusBlocks, linesSection, type SlackBlock } from './render';
export type { OpenOperationSummary, RunnerReport, SourceResult, SpotEventKind, SpotEventSummary, StatusReport } from './types';
