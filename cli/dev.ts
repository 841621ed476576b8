import { Command, Option } from 'commander';
import { allServices, devDown, devEnv, devStatus, devUp, ServiceName } from '../infra/dev/services';
import { logFile } from '../infra/dev/background-process';

const serviceOption = () =>
  new Option('--only <services...>', 'limit to some services').choices(allServices).default(allServices);

/** `agentark dev up|down|status|env`: the local Temporal, S3 and teacher LLM of the embedded default. */
export function registerDev(program: Command): void {
  const dev = program.command('dev').description('start, stop and inspect the local services (Temporal, S3, teacher LLM)');

  dev
    .command('up')
    .description('start the local services (idempotent) and wait until each is healthy')
    .addOption(serviceOption())
    .action(async (opts: { only: ServiceName[] }) => {
      for (const r of await devUp(opts.only)) {
        const how = r.state === 'started' ? `started in ${(r.ms / 1000).toFixed(1)} s` : 'already running';
        console.log(`${r.name.padEnd(9)} ${how}  (log: ${logFile(r.name)})`);
      }
      printUrls();
    });

  dev
    .command('down')
    .description('stop the local services this project started (state is kept under .state/)')
    .addOption(serviceOption())
    .action(async (opts: { only: ServiceName[] }) => {
      const stopped = await devDown(opts.only);
      console.log(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
    });

  dev
    .command('status')
    .description('show whether each local service answers')
    .action(async () => {
      const statuses = await devStatus();
      for (const s of statuses) {
        console.log(`${s.name.padEnd(9)} ${s.healthy ? 'healthy' : 'down   '}  ${s.pid ? `pid ${s.pid}` : '       '}  ${s.url}`);
      }
      if (statuses.some((s) => !s.healthy)) process.exitCode = 1;
    });

  dev
    .command('env')
    .description('print the environment (shell syntax) that points clients at the local services')
    .action(() => {
      for (const [k, v] of Object.entries(devEnv())) console.log(`export ${k}=${v}`);
    });
}

function printUrls(): void {
  const env = devEnv();
  console.log(`\nTemporal  ${env.TEMPORAL_ADDRESS}   Web UI http://127.0.0.1:${process.env.AGENTARK_TEMPORAL_UI_PORT ?? 8233}`);
  console.log(`S3        ${env.AWS_ENDPOINT_URL_S3}   store ${env.AGENTARK_STORE}`);
  console.log(`Teacher   ${env.OPENAI_BASE_URL}`);
  console.log('Point a shell at them with: eval "$(bin/agentark dev env)"');
}
