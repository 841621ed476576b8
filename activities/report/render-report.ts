import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Report } from '../../core/report';
import { chartTitles } from './charts';

/**
 * A run's report as markdown, as one self-contained HTML page and as the CLI's plain-text results
 * table. All three are drawn from the same sections, so a number is formatted in one place.
 */

const STDERR_TAIL_CHARS = 4000;

/** Renders the specs to <outDir>/<name>.png and .svg in a child process; resolves to the files written. */
export function renderCharts(specs: Record<string, object>, outDir: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'render-charts.mjs'), outDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS); });
    // A child that dies before reading its input: the exit code and stderr below say why.
    child.stdin.on('error', () => {});
    child.on('error', (err) => reject(new Error(`cannot start the chart renderer: ${err.message}`)));
    child.on('close', (code, signal) => {
      const failed = (why: string) => reject(new Error(`chart rendering failed (${why}): ${stderr.trim() || 'nothing on stderr'}`));
      if (code !== 0) return failed(signal ?? `exit ${code}`);
      try {
        resolve(JSON.parse(stdout) as string[]);
      } catch {
        failed(`unreadable output ${JSON.stringify(stdout.slice(0, 200))}`);
      }
    });
    child.stdin.end(JSON.stringify(specs));
  });
}

interface Table { header: string[]; rows: string[][] }
type Block = { table: Table } | { list: string[] };
interface Section { title: string; blocks: Block[] }

const NONE = '-';
const pct = (x: number | null): string => (x == null ? NONE : `${(100 * x).toFixed(1)}%`);
const interval = (value: number, low: number, high: number): string => `${pct(value)} [${(100 * low).toFixed(1)}, ${(100 * high).toFixed(1)}]`;

/** One row per model × test set; the maj@k/pass@k and text-metric columns only when some score has them. */
function resultRows(report: Report): Table {
  const scores = report.evaluation?.scores ?? [];
  const k = report.evaluation?.sampling.samples ?? 1;
  const sampled = scores.some((s) => s.majAtK != null || s.passAtK != null);
  const text = scores.some((s) => s.text != null);
  const header = ['model', 'test set', 'n', 'accuracy [95% CI]', 'undecided', 'truncated', 'mean tokens',
    ...(sampled ? [`maj@${k}`, `pass@${k}`] : []),
    ...(text ? ['exact match', 'token F1', 'ROUGE-1', 'ROUGE-2', 'ROUGE-L'] : [])];
  const rows = scores.map((s) => [
    s.model, s.testSet, String(s.n), interval(s.accuracy.rate, s.accuracy.low, s.accuracy.high),
    String(s.undecided), String(s.truncated), s.meanCompletionTokens.toFixed(0),
    ...(sampled ? [s.majAtK ? interval(s.majAtK.rate, s.majAtK.low, s.majAtK.high) : NONE, pct(s.passAtK)] : []),
    ...(text ? (s.text ? [s.text.exactMatch, s.text.tokenF1, s.text.rouge1, s.text.rouge2, s.text.rougeL] : [null, null, null, null, null]).map(pct) : []),
  ]);
  return { header, rows };
}

function sections(report: Report): Section[] {
  const out: Section[] = [];
  const evaluation = report.evaluation;
  if (evaluation && evaluation.scores.length > 0) out.push({ title: 'Results', blocks: [{ table: resultRows(report) }] });
  if (evaluation && evaluation.mas.length > 0) {
    out.push({ title: 'Teacher (MAS) reference', blocks: [{ table: {
      header: ['test set', 'debate run', 'problems', 'consensus', 'single agent'],
      rows: evaluation.mas.map((m) => [m.testSet, m.runId, String(m.problems), pct(m.consensus), pct(m.singleAgent)]),
    } }] });
  }
  if (report.regressions.length > 0) {
    out.push({ title: 'Regressions', blocks: [{ list: report.regressions.map(({ model, testSet, previous: p, current: c }) =>
      `${model} on ${testSet}: ${interval(c.accuracy, c.low, c.high)}, below ${interval(p.accuracy, p.low, p.high)} of run ${p.runId}`) }] });
  }
  if (report.training.length > 0) {
    out.push({ title: 'Training', blocks: [{ table: {
      header: ['job', 'method', 'steps', 'last loss', 'seconds'],
      rows: report.training.map((t) => [t.job, t.method, String(t.steps), t.lastLoss?.toFixed(4) ?? NONE, t.seconds?.toFixed(0) ?? NONE]),
    } }] });
  }
  const debate = report.debate;
  if (debate) {
    out.push({ title: 'Debate', blocks: [{ list: [
      `problems: ${debate.problems}`,
      `agent accuracy by round (carried forward): ${debate.rounds.map((r) => `round ${r.round} ${pct(r.accuracyCarriedForward)}`).join(', ') || NONE}`,
      `consensus: ${pct(debate.consensus.accuracy)} (${debate.consensus.correct}/${debate.problems})`,
      `DA eligible (at least 2 correct agents): ${debate.da.eligibleProblems} problems`,
    ] }] });
  }
  return out;
}

const chartTitle = (name: string): string => chartTitles[name] ?? name;

/** Fixed-width columns; the first two (names) left-aligned, the rest (numbers) right-aligned. */
function plainTable({ header, rows }: Table): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function resultsTable(report: Report): string {
  const table = resultRows(report);
  return table.rows.length > 0 ? plainTable(table) : 'no evaluation results';
}

const mdCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const mdRow = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
const mdBlock = (block: Block): string[] => ('table' in block
  ? [mdRow(block.table.header), `|${block.table.header.map((_, i) => (i < 2 ? ' --- |' : ' ---: |')).join('')}`, ...block.table.rows.map(mdRow)]
  : block.list.map((item) => `- ${item}`));

/** report.md; chartFiles: chart name → its image's path relative to the markdown file. */
export function reportMarkdown(report: Report, chartFiles: Record<string, string>): string {
  const lines = [`# Run ${report.runId}`, '', `Created ${report.createdAt}.`, ''];
  for (const section of sections(report)) lines.push(`## ${section.title}`, '', ...section.blocks.flatMap((b) => [...mdBlock(b), '']));
  const charts = Object.entries(chartFiles);
  if (charts.length > 0) lines.push('## Charts', '', ...charts.flatMap(([name, file]) => [`![${chartTitle(name)}](${encodeURI(file)})`, '']));
  return lines.join('\n');
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const htmlBlock = (block: Block): string => ('table' in block
  ? `<table>\n<thead><tr>${block.table.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${
    block.table.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}\n</tbody>\n</table>`
  : `<ul>\n${block.list.map((item) => `<li>${esc(item)}</li>`).join('\n')}\n</ul>`);

const CSS = `body { font-family: "DejaVu Sans", system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; }
th { background: #f3f3f3; text-align: left; }
td:nth-child(n+3) { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
.meta { color: #666; }`;

/** report.html: one file with the CSS inline and the charts as data: URIs. pngs: chart name → PNG bytes. */
export function reportHtml(report: Report, pngs: Record<string, Buffer>): string {
  const body = sections(report).map((s) => `<h2>${esc(s.title)}</h2>\n${s.blocks.map(htmlBlock).join('\n')}`);
  const charts = Object.entries(pngs).map(([name, png]) =>
    `<figure><img alt="${esc(chartTitle(name))}" src="data:image/png;base64,${png.toString('base64')}"></figure>`);
  if (charts.length > 0) body.push('<h2>Charts</h2>', ...charts);
  const title = `Run ${report.runId}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
${CSS}
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Created ${esc(report.createdAt)}.</p>
${body.join('\n')}
</body>
</html>
`;
}
