import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { codeVersion } from '../activities/store/code-version';

/**
 * Worker Versioning (Temporal's Worker Deployments), on when AGENTARK_DEPLOYMENT_NAME is set.
 *
 * Every worker of one build (main, llm, gpu) joins the deployment version `<name>.<build id>`, the build
 * id being AGENTARK_BUILD_ID or else the code version (the git commit, or `v<package version>` in an
 * image). Workflows default to PINNED: a debate or a training job started on a build finishes on it,
 * however many builds are deployed meanwhile. The long parents move on at their continue-as-new
 * (generateDebates rolls over when its target version changed, with `initialVersioningBehavior:
 * 'AUTO_UPGRADE'`); distillPipeline, which waits on them for days, is AUTO_UPGRADE, kept replaying by
 * `patched()` and the replay fixtures of earlier releases.
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

export async function deploymentSetting(env: NodeJS.ProcessEnv = process.env): Promise<DeploymentSetting | undefined> {
  const name = env.AGENTARK_DEPLOYMENT_NAME?.trim();
  if (!name) return undefined;
  if (!NAME.test(name)) throw new Error(`AGENTARK_DEPLOYMENT_NAME must be letters, digits, '-' or '_' (no '.'), got ${JSON.stringify(name)}`);
  const buildId = env.AGENTARK_BUILD_ID?.trim() || (await codeVersion());
  if (!BUILD_ID.test(buildId) || buildId === 'unknown') {
    throw new Error(`AGENTARK_BUILD_ID must be letters, digits or '_.+-' (the code version was ${JSON.stringify(buildId)}): set it to the image's version`);
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
