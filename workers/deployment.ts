import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { codeVersion } from '../activities/store/code-version';

/**
 * Worker Versioning (Temporal's Worker Deployments), on when AGENTARK_DEPLOYMENT_NAME is set.
 *
 * Every worker of one build (main, llm, gpu) joins the deployment version `<name>.<build id>`, the build
 * id being AGENTARK_BUILD_ID or else the git commit of a checkout (an image without .git must be given
 * AGENTARK_BUILD_ID: its package version would be shared by two builds). Workflows default to PINNED: a debate or a training job started on a build finishes on it,
 * however many builds are deployed meanwhile. The long parents move on at their continue-as-new
 * (generateDebates rolls over when its target version changed, with `initialVersioningBehavior:
 * 'AUTO_UPGRADE'`); distillPipeline, which waits on them for days, is AUTO_UPGRADE, kept replaying by
 * `patched()` and the replay fixtures of earlier releases. That is declared by the versioned workers'
 * own workflow bundle (../workflows/versioned.ts), so it follows the worker that runs the task, not the
 * history: a pipeline started before versioning was turned on moves too, and an unversioned worker
 * (which must declare nothing) never inherits it.
 *
 * A new build takes new workflows once it is made current: `agentark deployment current <build id>`
 * (or `temporal worker deployment set-current-version`). Until then new runs go where they went before.
 * Unset, the workers are unversioned, as before.
 */
export interface DeploymentSetting {
  name: string;
  buildId: string;
}

/** Temporal's limits: a build id and a deployment name are at most 255 bytes, with no '.' in the name. */
const NAME = /^[A-Za-z0-9_-]{1,200}$/;
const BUILD_ID = /^[A-Za-z0-9_.+-]{1,255}$/;
const GIT_COMMIT = /^[0-9a-f]{40,64}$/;

/** The deployment name (AGENTARK_DEPLOYMENT_NAME), checked; undefined when versioning is off. */
export function deploymentName(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = env.AGENTARK_DEPLOYMENT_NAME?.trim();
  if (!name) return undefined;
  if (!NAME.test(name)) throw new Error(`AGENTARK_DEPLOYMENT_NAME must be letters, digits, '-' or '_' (no '.'), got ${JSON.stringify(name)}`);
  return name;
}

export async function deploymentSetting(env: NodeJS.ProcessEnv = process.env): Promise<DeploymentSetting | undefined> {
  const name = deploymentName(env);
  if (!name) return undefined;
  const given = env.AGENTARK_BUILD_ID?.trim();
  if (given !== undefined && given !== '' && !BUILD_ID.test(given)) {
    throw new Error(`AGENTARK_BUILD_ID must be letters, digits or '_.+-', at most 255 of them, got ${JSON.stringify(given)}`);
  }
  const buildId = given || (await codeVersion());
  // Without .git the code version is only the package version, which two builds of one release share:
  // Temporal would take them for one build and replay pinned runs of the old code on the new.
  if (!GIT_COMMIT.test(buildId) && !given) {
    throw new Error(
      `AGENTARK_BUILD_ID must be set when AGENTARK_DEPLOYMENT_NAME is and the code is not a git checkout `
        + `(the code version is only ${JSON.stringify(buildId)}): build the image with --build-arg AGENTARK_BUILD_ID=$(git rev-parse HEAD)`,
    );
  }
  return { name, buildId };
}

/**
 * The Worker.create option of a worker of this build: `setting` when given (tests run two builds in one
 * process), else the environment's; nothing when versioning is off.
 */
export async function deploymentOption(setting?: DeploymentSetting): Promise<{ workerDeploymentOptions?: WorkerDeploymentOptions }> {
  const s = setting ?? (await deploymentSetting());
  if (!s) return {};
  return {
    workerDeploymentOptions: {
      useWorkerVersioning: true,
      version: { deploymentName: s.name, buildId: s.buildId },
      defaultVersioningBehavior: 'PINNED',
    },
  };
}
