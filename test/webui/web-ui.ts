import * as fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The chromium binary to drive: $AGENTARK_CHROMIUM, else Debian's (apt package `chromium`); undefined when none. */
export function findChromium(): string | undefined {
  const candidates = [process.env.AGENTARK_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error('no chromium found: install the apt package `chromium` or set AGENTARK_CHROMIUM to a chromium binary');
  }
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'], timeout: 120_000 });
}

export interface UiTarget {
  uiUrl: string;
  namespace: string;
  workflowId: string;
}

const workflowsPage = (uiUrl: string, namespace: string) => `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows`;
const workflowPage = (t: UiTarget) => `${workflowsPage(t.uiUrl, t.namespace)}/${encodeURIComponent(t.workflowId)}`;

/**
 * Fills the Web UI's Start Workflow form (input as one json/plain payload) and submits it.
 * Resolves with the run id the UI reports, on the workflow's page; throws with the UI's error otherwise.
 */
export async function startWorkflowFromUi(
  page: Page,
  opts: UiTarget & { taskQueue: string; workflowType: string; input: unknown },
): Promise<{ runId: string }> {
  await page.goto(`${workflowsPage(opts.uiUrl, opts.namespace)}/start-workflow`);
  // Typed key by key as a user does: fill() has been seen to leave Start inert in UI 2.54.
  await page.locator('#workflowId').pressSequentially(opts.workflowId);
  await page.locator('#taskQueue').pressSequentially(opts.taskQueue);
  await page.locator('#workflowType').pressSequentially(opts.workflowType);

  // A CodeMirror editor: the JSON goes in as one text insertion (no per-key editing behaviour),
  // then Tab moves focus out so the form takes its value.
  const editor = page.getByRole('textbox', { name: 'Data' });
  await editor.click();
  await page.keyboard.insertText(JSON.stringify(opts.input));
  await page.keyboard.press('Tab');
  const shown: unknown = JSON.parse(await editor.innerText());
  if (!isDeepStrictEqual(shown, opts.input)) throw new Error(`the input editor holds ${JSON.stringify(shown)}`);
  await page.getByRole('radio', { name: 'json/plain' }).check();

  await page.getByTestId('start-workflow-button').click();
  const started = page.getByRole('link', { name: 'Workflow started successfully' });
  const failed = page.locator('[role=alert].alert.error');
  await started.or(failed).first().waitFor({ timeout: 30_000 });
  if (await failed.isVisible()) throw new Error(`the Web UI did not start the workflow: ${await failed.innerText()}`);

  // The link goes to /workflows/<id>/<runId>/timeline.
  const href = (await started.getAttribute('href')) ?? '';
  const runId = href.split('/').at(-2) ?? '';
  await started.click();
  await page.waitForURL((url) => url.pathname.includes(`/workflows/${encodeURIComponent(opts.workflowId)}/`));
  return { runId };
}

// Compared as lower case without spaces: the badge is upper-cased by CSS and may read "Timed Out".
const key = (status: string) => status.replace(/\s+/g, '').toLowerCase();
const otherFinal = ['failed', 'terminated', 'canceled', 'timedout'];

export type UiStatus = 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'Canceled' | 'Timed Out';

/** Reloads the workflow's page until its status badge reads `status`; fails at once on another final status. */
export async function waitForUiStatus(page: Page, opts: UiTarget & { status: UiStatus; timeoutMs: number }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const badge = page.getByTestId('execution-status');
  let seen = '';
  for (;;) {
    await page.goto(workflowPage(opts));
    await badge.waitFor({ timeout: 30_000 });
    seen = ((await badge.textContent()) ?? '').trim();
    if (key(seen) === key(opts.status)) return;
    if (otherFinal.includes(key(seen))) {
      const text = (await page.locator('main').innerText()).slice(0, 4000);
      throw new Error(`${opts.workflowId} is ${seen} in the Web UI, not ${opts.status}:\n${text}`);
    }
    if (Date.now() > deadline) break;
    await page.waitForTimeout(2000);
  }
  await page.screenshot({ path: `/tmp/webui-${opts.workflowId}.png`, fullPage: true }).catch(() => undefined);
  throw new Error(`${opts.workflowId} still reads ${seen} in the Web UI after ${opts.timeoutMs} ms, not ${opts.status}`);
}
