import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import type { probeTeacher } from '../../workflows';
import { devPorts } from '../../infra/dev/services';
import { repoRoot } from '../../infra/dev/paths';
import { temporalEnv } from '../../workers/temporal-env';
import { startHarness, uniqueRunId, type Harness } from '../workflows/harness';
import { findChromium, launchBrowser } from './web-ui';

/**
 * The Temporal Web UI showing an encrypted run decoded through `agentark codec-server` (a child process),
 * as an operator does by setting the UI's codec endpoint; without it the page shows no plaintext.
 * Real Temporal dev server, SmolLM2 teacher, S3 and chromium.
 */

const uiUrl = process.env.TEMPORAL_UI_URL ?? `http://127.0.0.1:${devPorts.temporalUi}`;
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
/**
 * Where UI 2.54 keeps its data encoder settings (persisted stores, JSON in localStorage): the codec endpoint,
 * used only with "override the server's codec configuration" on (read from the UI bundle's data-encoder code).
 */
const uiCodecSettings = (endpoint: string): Record<string, string> => ({ endpoint: JSON.stringify(endpoint), overrideRemoteCodecConfiguration: 'true' });

const haveChromium = findChromium() !== undefined;
if (!haveChromium) console.warn('Web UI codec tests skipped: no chromium (apt package `chromium`, or set AGENTARK_CHROMIUM)');

/** `agentark codec-server` on a free port; resolves with its URL once it listens. */
async function spawnCodecServer(env: NodeJS.ProcessEnv, corsOrigin: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(path.join(repoRoot, 'bin/agentark'), ['codec-server', '--port', '0', '--cors-origin', corsOrigin], {
    cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: string) => {
      output += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) resolve(m[1]);
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => reject(new Error(`agentark codec-server exited with ${code}:\n${output}`)));
  });
  return { url, child };
}

(haveChromium ? describe : describe.skip)('Temporal Web UI with agentark codec-server', () => {
  jest.setTimeout(240_000);
  const keys = `ui-${randomBytes(2).toString('hex')}:${randomBytes(32).toString('base64')}`;
  const codecEnv = { AGENTARK_CODEC_KEYS: keys, AGENTARK_CODEC_KEY_ID: keys.split(':')[0] };
  const saved = { AGENTARK_CODEC_KEYS: process.env.AGENTARK_CODEC_KEYS, AGENTARK_CODEC_KEY_ID: process.env.AGENTARK_CODEC_KEY_ID };
  let harness: Harness;
  let browser: Browser;
  let codecServer: { url: string; child: ChildProcess };
  let plainConnection: Connection;
  const contexts: BrowserContext[] = [];
  const marker = `ui-marker-${randomBytes(6).toString('hex')}`;
  const runId = uniqueRunId('ui-encrypted');
  const workflowUrl = `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(`test-${runId}`)}`;

  beforeAll(async () => {
    Object.assign(process.env, codecEnv);
    [harness, browser, codecServer] = await Promise.all([
      startHarness({ llmConcurrency: 2 }),
      launchBrowser(),
      spawnCodecServer({ ...process.env, ...codecEnv }, new URL(uiUrl).origin),
      Connection.connect(temporalEnv().connection).then((c) => (plainConnection = c)),
    ]);
    await harness.client.workflow.execute<typeof probeTeacher>('probeTeacher', {
      taskQueue: harness.taskQueue,
      workflowId: `test-${runId}`,
      args: [{ runId, question: `What is 2 + 3? Reply with one number. (${marker})`, maxTokens: 16, llmQueue: harness.llmQueue, store: harness.store }],
    });
  }, 180_000);
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    codecServer?.child.kill('SIGTERM');
    await harness?.close();
    await plainConnection?.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** A fresh browser profile; with `codecEndpoint`, the UI's codec endpoint set as the operator sets it. */
  async function openWorkflow(codecEndpoint?: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    contexts.push(context);
    if (codecEndpoint) {
      const settings = Object.entries(uiCodecSettings(codecEndpoint));
      await context.addInitScript({ content: settings.map(([k, v]) => `localStorage.setItem(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n') });
    }
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(workflowUrl);
    await page.getByTestId('execution-status').waitFor();
    return page;
  }

  it('shows the decoded input (the marker in the question) with the codec endpoint set', async () => {
    const page = await openWorkflow(codecServer.url);
    await page.getByText(marker).first().waitFor({ timeout: 60_000 });
    expect(await page.locator('main').innerText()).toContain(marker);
  });

  it('shows only the encrypted payload without it', async () => {
    // The sealed input as the server holds it: the page must show it (so the input card has rendered) before the check.
    const history = await new Client({ connection: plainConnection, namespace }).workflow.getHandle(`test-${runId}`).fetchHistory();
    const sealed = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const sealedBase64 = Buffer.from(sealed ?? []).toString('base64');
    expect(sealedBase64.length).toBeGreaterThan(40);
    const page = await openWorkflow();
    await page.getByText(sealedBase64.slice(0, 40)).first().waitFor({ timeout: 60_000 });
    expect(await page.locator('main').innerText()).not.toContain(marker);
  });
});
