import * as fs from 'node:fs';
import * as path from 'node:path';
import { allServices, devEnv, devUp, ServiceName } from '../../infra/dev/services';
import { repoRoot } from '../../infra/dev/paths';

/**
 * Integration tests run against the real local services: the Temporal dev server, SeaweedFS's S3 API
 * and the teacher LLM server over SmolLM2. Start whichever is not already running; the teardown stops
 * only what this setup started. Test workers inherit the environment set here.
 */
export default async function globalSetup(): Promise<void> {
  const wanted: ServiceName[] = allServices.filter(
    (s) => s !== 'llm' || fs.existsSync(path.join(repoRoot, 'infra/llm-server/main.ts')),
  );
  const t0 = Date.now();
  const results = await devUp(wanted);
  Object.assign(process.env, devEnv(), { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const started = results.filter((r) => r.state === 'started').map((r) => r.name);
  process.env.AGENTARK_TEST_STARTED_SERVICES = started.join(',');
  process.stderr.write(
    `\nlocal services ready in ${Date.now() - t0} ms (${results.map((r) => `${r.name}: ${r.state}${r.ms ? ` ${r.ms} ms` : ''}`).join(', ')})\n`,
  );
}
