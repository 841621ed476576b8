import { Command } from 'commander';
import { registerDev } from './dev';
import { registerVerify } from './verify';
import { registerWorker } from './worker';
import { registerDemo } from './demo';
import { registerGenerate } from './generate';
import { registerStatus } from './status';
import { registerTrain } from './train';
import { registerCancel } from './cancel';
import { registerSchedule } from './schedule';
import { registerRun } from './run';
import { registerCodecServer } from './codec-server';
import { registerDeployment } from './deployment';

/** The `agentark` command. Each subcommand lives in its own file and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('agentark')
    .description('Distil a multi-agent debate into one student LLM, durably, on Temporal.')
    .showHelpAfterError()
    .exitOverride();
  registerDev(program);
  registerVerify(program);
  registerWorker(program);
  registerDemo(program);
  registerGenerate(program);
  registerStatus(program);
  registerTrain(program);
  registerCancel(program);
  registerSchedule(program);
  registerRun(program);
  registerCodecServer(program);
  registerDeployment(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code?.startsWith('commander.')) process.exit(e.exitCode ?? 1);
    process.stderr.write(`agentark: ${describeError(err)}\n`);
    process.exit(1);
  }
}

/**
 * An error with its causes: a failed workflow's own message is only "Workflow execution failed";
 * what the user needs is the ApplicationFailure underneath (its type and message).
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: string; type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    parts.push(e.type ? `${e.message} [${e.type}]` : String(e.message ?? e));
    if (parts.length > 5) break;
  }
  return parts.join('\n  caused by: ');
}

if (require.main === module) void main();
