/**
 * Every artifact for one environment, from its fleet-file section. Pure: no I/O, no credentials;
 * used by the operations and by `runner-ops render`. The environment is validated again here, so
 * no value reaches a script without passing the fleet-file grammar.
 */
import { type EnvironmentConfig, environmentSchema } from '../config/fleet-schema';
import { environmentName } from '../config/grammar';
import { ConfigError } from '../config/load';
import { renderConfigToml } from './config-toml';
import { renderManagerBootstrap, renderManagerPhases, type ScriptPhase } from './manager-bootstrap';
import { PLACEHOLDER_MARKER } from './placeholders';
import { DEFAULT_CATALOGUE, resolveVersions, type ResolvedVersions, type VersionCatalogue } from './versions';
import { renderVerifyEcr } from './verify-ecr';
import { renderWorkerUserData } from './worker-userdata';

export const ARTIFACT_NAMES = ['manager-bootstrap.sh', 'worker-userdata.sh', 'config.toml', 'verify-ecr.sh'] as const;
export type ArtifactName = (typeof ARTIFACT_NAMES)[number];
export type FleetArtifacts = Record<ArtifactName, string>;

export interface RenderInput {
  readonly envName: string;
  readonly env: EnvironmentConfig;
  readonly gitlabUrl: string;
  /** Pinned versions and digests; tests pass their own. */
  readonly catalogue?: VersionCatalogue;
  /** verify-ecr's image; defaults to ecr.verifyImage. */
  readonly verifyImage?: string;
}

export interface RenderedFleet {
  readonly artifacts: FleetArtifacts;
  readonly managerPhases: ScriptPhase[];
  readonly workerUserData: { readonly fleet: string; readonly verify: string };
  readonly versions: ResolvedVersions;
}

function checkInput(input: RenderInput): EnvironmentConfig {
  const problems: string[] = [];
  if (!environmentName.safeParse(input.envName).success) problems.push(`environments: ${JSON.stringify(input.envName)} is not a valid environment name`);
  const parsed = environmentSchema.safeParse(input.env);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((i) => `environments.${input.envName}.${i.path.map(String).join('.')}: ${i.message}`));
  }
  let url: URL | undefined;
  try { url = new URL(input.gitlabUrl); } catch { /* reported below */ }
  if (url === undefined || !/^https?:$/.test(url.protocol) || /[\s"\\]/.test(input.gitlabUrl)) problems.push('GITLAB_URL: must be an http(s) URL');
  if (JSON.stringify(input.env).includes(PLACEHOLDER_MARKER)) problems.push(`environments.${input.envName}: no value may contain ${PLACEHOLDER_MARKER}`);
  if (problems.length > 0 || !parsed.success) throw new ConfigError('the fleet file', problems);
  return parsed.data;
}

export function renderFleet(input: RenderInput): RenderedFleet {
  const env = checkInput(input);
  const catalogue = input.catalogue ?? DEFAULT_CATALOGUE;
  let versions: ResolvedVersions;
  try {
    versions = resolveVersions(env.versions, catalogue);
  } catch (err) {
    throw new ConfigError('the fleet file', [`environments.${input.envName}.${(err as Error).message}`]);
  }
  const { envName } = input;
  const helper = versions.ecrCredentialHelper;
  const fleetUserData = renderWorkerUserData({ envName, env, ecrCredentialHelper: helper, variant: 'fleet' });
  const verifyUserData = renderWorkerUserData({ envName, env, ecrCredentialHelper: helper, variant: 'verify' });
  const configToml = renderConfigToml({ envName, env, gitlabUrl: input.gitlabUrl });
  const managerInput = { envName, env, versions, workerUserData: fleetUserData, configToml };
  return {
    artifacts: {
      'manager-bootstrap.sh': renderManagerBootstrap(managerInput),
      'worker-userdata.sh': fleetUserData,
      'config.toml': configToml,
      'verify-ecr.sh': renderVerifyEcr({ envName, env, image: input.verifyImage, verifyImages: catalogue.verifyImages }),
    },
    managerPhases: renderManagerPhases(managerInput),
    workerUserData: { fleet: fleetUserData, verify: verifyUserData },
    versions,
  };
}

/** The four files `runner-ops render` writes. */
export function renderArtifacts(input: RenderInput): FleetArtifacts {
  return renderFleet(input).artifacts;
}
