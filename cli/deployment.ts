import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { deploymentName, deploymentSetting } from '../workers/deployment';
import { temporalEnv } from '../workers/temporal-env';
import { connectClient } from './client';

/**
 * `agentark deployment current [buildId]` and `agentark deployment show`: Worker Versioning's one manual
 * step (../workers/deployment.ts). Deploy the new build's workers beside the old ones, make it current,
 * and the old build keeps its pinned debates and training jobs until they end (`show` says when it is
 * drained and its workers can go).
 */
export function registerDeployment(program: Command): void {
  const cmd = program.command('deployment').description('Worker Versioning: which build of the workers takes new workflows');
  cmd
    .command('current')
    .description('make a build current: new workflows, and generateDebates at its next continue-as-new, run on it')
    .argument('[buildId]', "the build id (default: this checkout's, AGENTARK_BUILD_ID or the code version)")
    .option('--name <name>', 'the deployment name (default AGENTARK_DEPLOYMENT_NAME)')
    .action(async (buildId: string | undefined, opts: { name?: string }) => {
      const { name, build } = await target(opts.name, buildId);
      const { client, close } = await connectClient();
      try {
        const previous = await makeCurrent(client, name, build);
        console.log(`deployment ${name}: current build ${build}${previous ? ` (was ${previous})` : ''}`);
      } finally {
        await close();
      }
    });
  cmd
    .command('show')
    .description("the deployment's builds: current, ramping, draining, drained")
    .option('--name <name>', 'the deployment name (default AGENTARK_DEPLOYMENT_NAME)')
    .action(async (opts: { name?: string }) => {
      const name = deploymentName({ ...process.env, ...(opts.name ? { AGENTARK_DEPLOYMENT_NAME: opts.name } : {}) });
      if (!name) throw new Error(NO_NAME);
      const { client, close } = await connectClient();
      try {
        const builds = await describeBuilds(client, name);
        for (const b of builds) console.log(`${b.current ? '*' : ' '} ${b.buildId}  ${b.status}${b.drainage ? `  ${b.drainage}` : ''}`);
      } finally {
        await close();
      }
    });
}

const NO_NAME = 'no deployment name: pass --name or set AGENTARK_DEPLOYMENT_NAME (the workers must run with it too)';

/** The build `current` makes current: the one given, else this checkout's (as a worker started here would join). */
async function target(name: string | undefined, buildId: string | undefined): Promise<{ name: string; build: string }> {
  const env = { ...process.env, ...(name ? { AGENTARK_DEPLOYMENT_NAME: name } : {}), ...(buildId ? { AGENTARK_BUILD_ID: buildId } : {}) };
  const setting = await deploymentSetting(env);
  if (!setting) throw new Error(NO_NAME);
  return { name: setting.name, build: setting.buildId };
}

/**
 * Makes `buildId` the deployment's current version; returns the build it replaced. Refused by Temporal
 * until a worker of that build has polled: the error says so, with the command's terms.
 */
export async function makeCurrent(client: Client, name: string, buildId: string): Promise<string | undefined> {
  try {
    const res = await client.workflowService.setWorkerDeploymentCurrentVersion({
      namespace: temporalEnv().namespace, deploymentName: name, buildId, identity: client.options.identity,
    });
    return res.previousDeploymentVersion?.buildId || undefined;
  } catch (err) {
    throw new Error(`cannot make build ${buildId} of deployment ${name} current: ${(err as Error).message} (start its workers with AGENTARK_DEPLOYMENT_NAME=${name} AGENTARK_BUILD_ID=${buildId} first)`);
  }
}

export interface BuildSummary { buildId: string; current: boolean; status: string; drainage: string }

/** The deployment's builds, with Temporal's status (current, ramping, draining, drained, inactive). */
export async function describeBuilds(client: Client, name: string): Promise<BuildSummary[]> {
  const res = await client.workflowService.describeWorkerDeployment({ namespace: temporalEnv().namespace, deploymentName: name });
  const info = res.workerDeploymentInfo;
  const current = info?.routingConfig?.currentDeploymentVersion?.buildId ?? '';
  return (info?.versionSummaries ?? []).map((v) => ({
    buildId: v.deploymentVersion?.buildId ?? '',
    current: v.deploymentVersion?.buildId === current,
    status: enumName(temporal.api.enums.v1.WorkerDeploymentVersionStatus, 'WORKER_DEPLOYMENT_VERSION_STATUS_', v.status),
    drainage: enumName(temporal.api.enums.v1.VersionDrainageStatus, 'VERSION_DRAINAGE_STATUS_', v.drainageInfo?.status ?? v.drainageStatus),
  }));
}

/** Proto enums arrive as numbers: their names, without the prefix ('' for unspecified). */
function enumName(values: object, prefix: string, value: unknown): string {
  const entry = Object.entries(values).find(([, v]) => v === value);
  return !entry || entry[1] === 0 ? '' : entry[0].replace(prefix, '').toLowerCase();
}
