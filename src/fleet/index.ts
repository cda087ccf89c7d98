/** What lands on machines: the public surface of src/fleet for operations and the CLI. */
export { ARTIFACT_NAMES, type ArtifactName, type FleetArtifacts, type RenderedFleet, type RenderInput, renderArtifacts, renderFleet } from './render';
export { renderManagerBootstrap, renderManagerPhases, type ScriptPhase } from './manager-bootstrap';
export { MANAGER_PHASES, type ManagerPhaseName } from './manager-phases';
export { renderWorkerUserData, USER_DATA_LIMIT_BYTES, type WorkerVariant } from './worker-userdata';
export { renderVerifyEcr } from './verify-ecr';
export { configTomlDocument, renderConfigToml } from './config-toml';
export { keyPairName, workerTags } from './executors/docker-machine';
export { explainVerifyFailure, parseSummaryLines, readManagerResult, readVerifyEcrResult, type ManagerSummary, type SummaryLine, type VerifyLevelResult } from './summary';
export { DEFAULT_CATALOGUE, resolveVersions, type VersionCatalogue } from './versions';
export { PATHS, PLACEHOLDER } from './placeholders';
export { shQuote } from './shell';
