import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { ApplicationFailure } from '@temporalio/common';
import { connectClient } from '../../cli/client';
import { readRunConfig } from '../../cli/config-file';
import { RunConfig } from '../../core/config';
import { parseInput } from '../../workflows/parse-input';
import { generateWorkflowId } from '../../workflows/generate-debates';
import { chaosSize, figure } from './chaos-size';
import { configMutation, type Mutation } from './config-mutations';

/**
 * Property-based bad input: mutated generateDebates configs through the CLI's config reader
 * (cli/config-file.ts) and the workflow's input parse (workflows/parse-input.ts). Each is accepted
 * when its mutation is valid by construction, else rejected with a message naming the field; never
 * a crash. A sample goes through the real `agentark generate` against the dev server: no run starts.
 */
const runs = chaosSize(100, 1000);
const cliSamples = chaosSize(3, 10);
const repo = path.resolve(__dirname, '../..');

type Outcome = { accepted: true } | { accepted: false; message: string } | { crash: unknown };

function cliParse(dir: string, config: unknown): Outcome {
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  try {
    readRunConfig(file);
    return { accepted: true };
  } catch (err) {
    const ours = err instanceof Error && err.constructor === Error && err.message.startsWith(`config ${file} is invalid:\n`);
    return ours ? { accepted: false, message: err.message } : { crash: err };
  }
}

function workflowParse(config: unknown): Outcome {
  try {
    // The config as it arrives through Temporal's JSON payload.
    parseInput(RunConfig, JSON.parse(JSON.stringify(config)) as unknown, 'generateDebates');
    return { accepted: true };
  } catch (err) {
    const ours = err instanceof ApplicationFailure && err.type === 'InvalidWorkflowInput' && err.nonRetryable;
    return ours ? { accepted: false, message: err.message } : { crash: err };
  }
}

/** The issue paths a rejection names: the CLI writes `  path: message` lines, the workflow `path: message; …`. */
function namedPaths(message: string, form: 'cli' | 'workflow'): string[] {
  if (form === 'cli') return message.split('\n').slice(1).map((l) => l.trim().split(': ')[0]);
  return message.replace(/^generateDebates: invalid input: /, '').split('; ').map((p) => p.split(': ')[0]);
}

function names(message: string, form: 'cli' | 'workflow', want: string): boolean {
  const paths = namedPaths(message, form);
  if (want === '') return paths.includes(form === 'cli' ? '(top level)' : '(input)');
  return paths.some((p) => p === want || p.startsWith(`${want}.`));
}

/** Whether one parser's outcome is what the mutation must give; a crash is never. */
function matches(m: Mutation, o: Outcome, form: 'cli' | 'workflow'): boolean {
  if ('crash' in o) return false;
  if (m.expect.accept) return o.accepted;
  if (o.accepted) return false;
  // The workflow takes a null input for no input ({}), so it names the first missing field instead.
  const want = form === 'workflow' && m.config === null ? 'runId' : m.expect.path;
  return names(o.message, form, want) && (m.expect.mentions === undefined || o.message.includes(m.expect.mentions));
}

function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(repo, 'bin/agentark'), args, { cwd: repo }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
}

describe('chaos: mutated run configs are accepted or rejected naming the field, never a crash', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentark-chaos-config-'));

  it(`${runs} mutated configs through the CLI reader and the workflow input parse`, () => {
    const counts = { mutated: 0, rejected: 0, acceptedValid: 0, crashes: 0 };
    const kinds = new Map<string, number>();
    fc.assert(
      fc.property(configMutation, (m) => {
        const cli = cliParse(dir, m.config);
        const wf = workflowParse(m.config);
        counts.mutated++;
        kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
        if ('crash' in cli || 'crash' in wf) counts.crashes++;
        else if (m.expect.accept && cli.accepted && wf.accepted) counts.acceptedValid++;
        else if (!m.expect.accept && !cli.accepted && !wf.accepted) counts.rejected++;
        const ok = matches(m, cli, 'cli') && matches(m, wf, 'workflow');
        if (!ok) console.error('config mutation not handled as expected', JSON.stringify(m), { cli, wf });
        return ok;
      }),
      { numRuns: runs, seed: 7_2026, endOnFailure: true },
    );
    figure('config mutations', counts.mutated);
    figure('config rejected', counts.rejected);
    figure('config accepted-valid', counts.acceptedValid);
    figure('config crashes', counts.crashes);
    expect(counts.crashes).toBe(0);
    expect(counts.rejected + counts.acceptedValid).toBe(counts.mutated);
    // Every kind of mutation was drawn, and both outcomes occur: the property tests both sides.
    expect([...kinds.keys()].sort()).toEqual(['delete', 'nested-garbage', 'not-an-object', 'number', 'string', 'unknown-key', 'wrong-type']);
    expect(counts.rejected).toBeGreaterThan(0);
    expect(counts.acceptedValid).toBeGreaterThan(0);
  });

  it(`${cliSamples} rejected configs through the real agentark generate: exit 1, the field named, no workflow started`, async () => {
    const sample = fc
      .sample(configMutation.filter((m) => !m.expect.accept && m.expect.path !== '' && m.expect.path !== 'runId'), { numRuns: cliSamples, seed: 11 })
      .map((m, i) => ({ m, runId: `chaos-cli-${randomUUID().slice(0, 8)}-${i}`, file: path.join(dir, `cli-${i}.json`) }));
    for (const s of sample) writeFileSync(s.file, JSON.stringify(s.m.config));
    const results = await Promise.all(
      sample.map((s) => runCli(['generate', '--config', s.file, '--run-id', s.runId, '--detach', '--task-queue', 'chaos-no-worker-polls-this'])),
    );
    const { client, close } = await connectClient();
    try {
      for (const [i, r] of results.entries()) {
        const want = sample[i].m.expect as { path: string };
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`config ${sample[i].file} is invalid`);
        expect(names(r.stderr.slice(r.stderr.indexOf('config ')).trimEnd(), 'cli', want.path)).toBe(true);
        const described = await client.workflow.getHandle(generateWorkflowId(sample[i].runId)).describe().then(() => 'found', (e: Error) => e.name);
        expect(described).toBe('WorkflowNotFoundError');
      }
    } finally {
      await close();
    }
    figure('config rejected through the CLI, no workflow started', results.length);
  });
});
