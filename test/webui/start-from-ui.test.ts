import type { Browser, Page } from 'playwright-core';
import type { probeTeacher } from '../../workflows';
import { openStore } from '../../activities/store/store';
import { pipelineWorkflowId } from '../../core/pipeline';
import { devPorts } from '../../infra/dev/services';
import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { allowTeacherUrl, gsm8kProblems, gsm8kTest, haveGsm8k, startHarness, uniqueRunId, type Harness } from '../workflows/harness';
import { startTrainHarness, type TrainHarness } from '../workflows/train-harness';
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
  let fake: FakeLlmServer | undefined;
  let gpu: TrainHarness | undefined;
  beforeAll(async () => {
    [harness, browser] = await Promise.all([startHarness({ llmConcurrency: 2 }), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(60_000);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await gpu?.close();
    await harness?.close();
    await fake?.close();
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

  (haveGsm8k ? it : it.skip)('starts distillPipeline (SCRIPTED FAKE teacher, tiny student) and shows it Completed; its report is stored', async () => {
    const problems = await gsm8kProblems(8);
    fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates: [0.2, 0.4], seed: 3 });
    allowTeacherUrl(fake.url);
    process.env.OMP_NUM_THREADS = '1';
    gpu = await startTrainHarness();
    await gpu.startGpu();
    const runId = uniqueRunId('ui-pipeline');
    const target = { uiUrl, namespace, workflowId: pipelineWorkflowId(runId) };
    const input = {
      runId, store: harness.store, llmQueue: harness.llmQueue, gpuQueue: gpu.gpuQueue,
      dataset: { format: 'gsm8k', url: gsm8kTest, limit: 8 }, teacher: { baseUrl: fake.url }, debate: { agents: 2, rounds: 2 },
      student: { arch: 'qwen3-tiny' }, methods: ['rsft'],
      training: { settings: { all: { max_steps: 1, batch_size: 2, max_seq_len: 256 } } },
      evaluation: { testSets: [{ name: 'gsm8k', dataset: { format: 'gsm8k', url: gsm8kTest, limit: 3 } }], sampling: { maxNewTokens: 4 } },
    };

    await startWorkflowFromUi(page, { ...target, taskQueue: harness.taskQueue, workflowType: 'distillPipeline', input });
    await waitForUiStatus(page, { ...target, status: 'Completed', timeoutMs: 280_000 });

    const store = openStore(harness.store);
    expect(await store.exists(`runs/${runId}/report/report.json`)).toBe(true);
    expect(await store.exists(`runs/${runId}/report/report.html`)).toBe(true);
  });
});
