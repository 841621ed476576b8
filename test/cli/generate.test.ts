import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectClient } from '../../cli/client';
import { readConfigFile, readRunConfig } from '../../cli/config-file';
import { parsePipelineInput } from '../../core/pipeline';
import { TrainStudentInput } from '../../core/training';

const repo = path.resolve(__dirname, '../..');
const agentark = path.join(repo, 'bin/agentark');

/** Runs the real `agentark` command as a user would, in its own process. */
function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(agentark, args, { cwd: repo }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('agentark generate / status: bad input gets a clear error', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentark-generate-'));
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('names the file when the config is not JSON', async () => {
    const bad = file('truncated.json', '{"runId": "x", "dataset": {');
    const r = await runCli(['generate', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`config ${bad} is not valid JSON`);
  });

  it('train: names every bad field of its config', async () => {
    const bad = file('train.json', JSON.stringify({ runId: 'r', datasets: { runId: 'r' }, student: {}, methods: ['sft'], settings: { rsft: { output_dir: '/x' } } }));
    const r = await runCli(['train', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`config ${bad} is invalid`);
    for (const field of ['student', 'methods.0', 'settings.rsft.output_dir']) expect(r.stderr).toContain(`  ${field}: `);
  });

  it('run: names the file when the config is not JSON, and every bad field when it is', async () => {
    const truncated = file('run-truncated.json', '{"runId": "x", "dataset": {');
    const notJson = await runCli(['run', '--config', truncated]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain(`config ${truncated} is not valid JSON`);
    const missing = path.join(dir, 'no-such-run.json');
    const unreadable = await runCli(['run', '--config', missing]);
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toContain(`cannot read config ${missing}`);
    const bad = file('run-fields.json', JSON.stringify({ runId: 'r', dataset: { format: 'gsm8k' }, methods: ['sft'] }));
    const invalid = await runCli(['run', '--config', bad]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(`config ${bad} is invalid`);
    for (const field of ['dataset.url', 'student', 'methods.0']) expect(invalid.stderr).toContain(`  ${field}: `);
  });

  it('names every bad field of the config', async () => {
    const bad = file('fields.json', JSON.stringify({ runId: 'bad id!', dataset: { format: 'gsm8k' }, debate: { agents: 0 }, window: 9000 }));
    const r = await runCli(['generate', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`config ${bad} is invalid`);
    for (const field of ['runId', 'dataset.url', 'debate.agents', 'window']) expect(r.stderr).toContain(`  ${field}: `);
  });

  it('checks the example configs that ship with the project', async () => {
    // --detach against a task queue no worker polls: the run is only validated and started, never executed.
    const runId = `cli-${Date.now()}`;
    const r = await runCli(['generate', '--config', path.join(repo, 'examples/generate-demo.json'), '--run-id', runId, '--detach', '--task-queue', 'no-worker-polls-this']);
    const { client, close } = await connectClient();
    await client.workflow.getHandle(`generate-${runId}`).terminate('test cleanup').catch(() => undefined);
    await close();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/run cli-\d+ started/);
    expect(r.stdout).toContain('http://127.0.0.1:8233/namespaces/default/workflows/generate-cli-');
  });

  it.each(['generate-demo.json', 'gsm8k.json'])('examples/%s is a valid run config', (name) => {
    expect(readRunConfig(path.join(repo, 'examples', name)).runId.length).toBeGreaterThan(0);
  });

  it.each(['train-tiny.json', 'train-qwen3-0.6b.json'])('examples/%s is a valid trainStudent config', (name) => {
    expect(readConfigFile(path.join(repo, 'examples', name), TrainStudentInput).methods.length).toBeGreaterThan(0);
  });

  it('examples/demo.json is a valid distillPipeline input (the demo adds the student)', () => {
    const raw = JSON.parse(readFileSync(path.join(repo, 'examples/demo.json'), 'utf8')) as Record<string, unknown>;
    expect(parsePipelineInput({ ...raw, student: { gguf: '/models/student.gguf' } })).toMatchObject({ ok: true });
    expect(parsePipelineInput(raw)).toMatchObject({ ok: false, issues: [expect.stringContaining('student')] });
  });

  it('resume takes the start options and says when a run was never started', async () => {
    const runId = `no-such-run-${Date.now()}`;
    const r = await runCli(['resume', runId, '--detach', '--task-queue', 'no-worker-polls-this']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`run ${runId} has no stored pipeline input`);
  });

  it('status of an unknown run says so', async () => {
    const r = await runCli(['status', `no-such-run-${Date.now()}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no run no-such-run-\d+/);
  });
});
