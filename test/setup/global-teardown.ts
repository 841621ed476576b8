import { devDown, ServiceName } from '../../infra/dev/services';

export default async function globalTeardown(): Promise<void> {
  const started = (process.env.AGENTARK_TEST_STARTED_SERVICES ?? '').split(',').filter(Boolean) as ServiceName[];
  if (process.env.AGENTARK_KEEP_SERVICES !== '1' && started.length) await devDown(started);
}
