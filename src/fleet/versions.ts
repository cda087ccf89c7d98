/**
 * Pinned versions of what lands on machines, each with its sha256 per architecture and the place
 * the digest was taken from. The fleet file's `versions` may name any version, but rendering an
 * artifact refuses one that is not listed here (src/fleet/render.ts, with the fleet-file path): a
 * digest is never guessed or fetched at run time.
 *
 * gitlab-runner is installed from GitLab's package repository (apt/dnf) at a pinned package
 * version; the repository's signature covers its integrity, so no digest is kept for it.
 */

/** Architecture names as the credential helper's release paths spell them (uname -m mapped). */
export type Arch = 'amd64' | 'arm64';
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

export interface PinnedBinary {
  readonly version: string;
  readonly sha256: Readonly<Record<Arch, string>>;
  /** Where the digests come from; `confirmed` is false where they could not be checked against the publisher's own file. */
  readonly source: string;
  readonly confirmed: boolean;
}

export interface VersionCatalogue {
  readonly gitlabRunner: { readonly default: string };
  readonly dockerMachine: { readonly default: string; readonly releases: readonly PinnedBinary[] };
  readonly ecrCredentialHelper: { readonly default: string; readonly releases: readonly PinnedBinary[] };
  /** Images verify-ecr.sh runs on the verify worker (Docker Hub official images, by tag). */
  readonly verifyImages: { readonly cli: string; readonly dind: string };
}

// GitLab's docker-machine fork: https://gitlab-docker-machine-downloads.s3.amazonaws.com/v<version>/docker-machine-Linux-<x86_64|aarch64>.
// UNCONFIRMED against GitLab's own release checksums: the values are those of the Arch Linux AUR
// package docker-machine-gitlab-bin (PKGBUILD sha256sums_x86_64 / sha256sums_aarch64 for the same
// URLs), found with the search tool; GitLab's release page was not reachable from here.
const DOCKER_MACHINE_SOURCE = 'AUR docker-machine-gitlab-bin PKGBUILD (sha256sums for gitlab-docker-machine-downloads.s3.amazonaws.com assets); not checked against GitLab release checksums';
const dockerMachineReleases: readonly PinnedBinary[] = [
  { version: '0.16.2-gitlab.21', confirmed: false, source: DOCKER_MACHINE_SOURCE, sha256: {
    amd64: 'a4e9a416f30406772e76c3b9e795121d5a7e677978923f96b7fb72f0d8354740',
    arm64: '124ceefbe1a1eec44eeb932edf9f85dab1e532d449f5e3e236faed5e8b19caba' } },
  { version: '0.16.2-gitlab.20', confirmed: false, source: DOCKER_MACHINE_SOURCE, sha256: {
    amd64: '4eb1bdf119496d35fd6f61be8235343919563ef16865aace390e6837aafee25a',
    arm64: '337b8d552a21f2e55cbcaa7d36504c03bd7e3dc415e78a2b809a4c929f0f6f8d' } },
];

// amazon-ecr-credential-helper static release binaries (CGO disabled, run in Alpine):
// https://amazon-ecr-credential-helper-releases.s3.us-east-2.amazonaws.com/<version>/linux-<arch>/docker-credential-ecr-login
// Values as recorded by cashapp/hermit-packages amazon-ecr-credential-helper.hcl (sha256sums keyed
// by those exact URLs), found with the search tool. UNCONFIRMED against AWS's own
// docker-credential-ecr-login.sha256 files beside the binaries, which could not be fetched here.
const ECR_HELPER_SOURCE = 'cashapp/hermit-packages amazon-ecr-credential-helper.hcl (sha256sums for the release bucket URLs); not checked against the .sha256 files in the release bucket';
const ecrHelperReleases: readonly PinnedBinary[] = [
  { version: '0.11.0', confirmed: false, source: ECR_HELPER_SOURCE, sha256: {
    amd64: 'd6b23f3b6dc2f6af875902844af3bbb0d6ac4980e4b3815640c9b2e2e34267ae',
    arm64: 'b1ba09040f102606b49f7f352eb3d8908ac38186b8fe5dec3ad17ed7d6f6b86d' } },
  { version: '0.10.1', confirmed: false, source: ECR_HELPER_SOURCE, sha256: {
    amd64: 'ae5f2c0f1a2283f687e24a529f41d58f29c0a5bcfa0b60d1d3f8dc33b7eac4f2',
    arm64: 'd321a6c4044fda6a4c6c6054d8e5b56ae9c902b6e37f5cc3b0d89df9298b07ef' } },
];

export const DEFAULT_CATALOGUE: VersionCatalogue = {
  // The package version in GitLab's apt/dnf repository is `<version>-1`.
  gitlabRunner: { default: '18.5.0' },
  dockerMachine: { default: '0.16.2-gitlab.21', releases: dockerMachineReleases },
  ecrCredentialHelper: { default: '0.11.0', releases: ecrHelperReleases },
  verifyImages: { cli: 'docker:27-cli', dind: 'docker:27-dind' },
};

export interface ResolvedVersions {
  readonly gitlabRunner: string;
  readonly dockerMachine: PinnedBinary;
  readonly ecrCredentialHelper: PinnedBinary;
}

export interface VersionChoice {
  readonly gitlabRunner?: string | undefined;
  readonly dockerMachine?: string | undefined;
  readonly ecrCredentialHelper?: string | undefined;
}

/** The problem with a chosen version, or undefined when the catalogue pins it. */
export function unpinnedVersionProblem(kind: 'dockerMachine' | 'ecrCredentialHelper', version: string, catalogue: VersionCatalogue = DEFAULT_CATALOGUE): string | undefined {
  const known = catalogue[kind].releases.map((r) => r.version);
  if (known.includes(version)) return undefined;
  return `no pinned sha256 is known for ${version}; known versions: ${known.join(', ')} (add the published digests to src/fleet/versions.ts)`;
}

/** The fleet file's choice resolved against the catalogue. Throws for a version without digests. */
export function resolveVersions(choice: VersionChoice, catalogue: VersionCatalogue = DEFAULT_CATALOGUE): ResolvedVersions {
  const pick = (kind: 'dockerMachine' | 'ecrCredentialHelper'): PinnedBinary => {
    const version = choice[kind] ?? catalogue[kind].default;
    const found = catalogue[kind].releases.find((r) => r.version === version);
    if (found === undefined) throw new Error(`versions.${kind}: ${unpinnedVersionProblem(kind, version, catalogue) ?? ''}`);
    return found;
  };
  return { gitlabRunner: choice.gitlabRunner ?? catalogue.gitlabRunner.default, dockerMachine: pick('dockerMachine'), ecrCredentialHelper: pick('ecrCredentialHelper') };
}
