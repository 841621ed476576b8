import type { Browser, Page } from 'playwright-core';
import type { probeTeacher } from '../../workflows';
import { devPorts } from '../../infra/dev/services';
import { startHarness, uniqueRunId, type Harness } from '../workflows/harness';
import { findChromium, launchBrowser, startWorkflowFromUi, waitForUiStatus } from './web-ui';

const uiUrl = process.env.TEMPORAL_UI_URL ?? `http://127.0.0.1:${devPorts.temporalUi}`;
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';

const haveChromium = findChromium() !== undefined;
if (!haveChromium) console.warn('Web UI tests skipped: no chromium (apt package `chromium`, or set AGENTARK_CHROMIUM)');

/** Workflows started by hand from the Temporal Web UI's Start Workflow form, run by this test's workers. */
(haveChromium ? describe : describe.skip)('Temporal Web UI Start Workflow form', () => {
  jest.setTimeout(300_000);
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    [harness, browser] = await Promise.all([startHarness({ llmConcurrency: 2 }), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(60_000);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it('starts probeTeacher and shows it Completed', async () => {
    const runId = uniqueRunId('ui-probe');
    const target = { uiUrl, namespace, workflowId: `test-${runId}` };
    const input = { runId, question: 'What is 2 + 3? Reply with one number.', maxTokens: 24, llmQueue: harness.llmQueue, store: harness.store };

    await startWorkflowFromUi(page, { ...target, taskQueue: harness.taskQueue, workflowType: 'probeTeacher', input });
    await waitForUiStatus(page, { ...target, status: 'Completed', timeoutMs: 180_000 });

    const result = await harness.client.workflow.getHandle<typeof probeTeacher>(target.workflowId).result();
    expect(result.key).toBe(`runs/${runId}/probe/reply.json`);
    expect(result.reply.trim().length).toBeGreaterThan(0);
    expect(result.completionTokens).toBeGreaterThan(0);
  });
});
