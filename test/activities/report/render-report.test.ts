import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelScore } from '../../../core/evaluation';
import type { Report } from '../../../core/report';
import { chartSpecs } from '../../../activities/report/charts';
import { renderCharts, reportHtml, reportMarkdown, resultsTable } from '../../../activities/report/render-report';

const score = (model: string, k: number, low: number, high: number): ModelScore => ({
  model, testSet: 'gsm8k', task: 'math', n: 10, samples: 1,
  accuracy: { k, n: 10, rate: k / 10, low, high },
  undecided: 0, truncated: 1, meanCompletionTokens: 212.4, majAtK: null, passAtK: null, text: null,
  generationsKey: `runs/r1/eval/gsm8k/models/${model}/generations.jsonl`, scoresKey: `runs/r1/eval/gsm8k/models/${model}/scores.json`,
});

const round = (n: number, correct: number) => ({
  round: n, problems: 10, turns: 30, correct, accuracy: correct / 30,
  turnsCarriedForward: 30, correctCarriedForward: correct, accuracyCarriedForward: correct / 30,
});

const report: Report = {
  runId: 'r1',
  createdAt: '2025-01-02T03:04:05.000Z',
  debate: {
    runId: 'd1', problems: 10, rounds: [round(1, 15), round(2, 21)],
    consensus: { correct: 8, accuracy: 0.8 }, correctAgentsHistogram: [1, 2, 3, 4], correctiveTraces: { traces: 4, problems: 3 },
    da: { eligibleProblems: 7, records: 14, selectedBy: { llmJudge: 6, lexical: 1 } }, earlyStop: { problems: 2, callsSaved: 6 },
    usage: { promptTokens: 1000, completionTokens: 500, calls: 40 },
    undecided: { turns: 0, summarizer: 0 },
  },
  training: [
    { job: 'rsft', method: 'rsft', trainer: 'sft', steps: 3, lastLoss: 0.8, seconds: 42, finalKey: 'runs/r1/train/rsft/final', curve: [{ step: 1, loss: 1.6 }, { step: 2, loss: 1.1 }, { step: 3, loss: 0.8 }] },
    { job: 'grpo', method: 'grpo', trainer: 'grpo', steps: 3, lastLoss: 0.05, seconds: 120, finalKey: 'runs/r1/train/grpo/final', curve: [
      { step: 1, loss: 0.1, reward: 0.2, kl: 0.0, accuracy: 0.3 },
      { step: 2, loss: 0.07, reward: 0.35, kl: 0.01, accuracy: 0.45 },
      { step: 3, loss: 0.05, reward: 0.5, kl: 0.02, accuracy: 0.6 },
    ] },
  ],
  evaluation: {
    runId: 'r1',
    sampling: { samples: 1, temperature: 0, topP: 1, maxNewTokens: 512, batchSize: 16, seed: 0 },
    scores: [score('base', 6, 0.313, 0.832), score('pad|da', 7, 0.397, 0.892)],
    mas: [{ testSet: 'gsm8k', runId: 'm1', problems: 10, consensus: 0.9, singleAgent: 0.75 }],
    models: { base: 'Qwen/Qwen2.5-0.5B', 'pad|da': 'runs/r1/train/pad/final' },
  },
  regressions: [],
  charts: {},
};

type InlineSpec = { data: { values: Record<string, unknown>[] } };

describe('run report', () => {
  it('has a spec for each chart with data, the accuracy one holding each model', () => {
    const specs = chartSpecs(report);
    expect(Object.keys(specs)).toEqual(['accuracy', 'training-loss', 'grpo', 'debate-rounds']);
    const values = (specs.accuracy as InlineSpec).data.values;
    expect(values.filter((v) => v.kind === 'score').map((v) => [v.model, v.accuracy])).toEqual([['base', 0.6], ['pad|da', 0.7]]);
    expect(values.filter((v) => v.kind === 'line').map((v) => [v.line, v.value])).toEqual([['base model', 0.6], ['MAS consensus', 0.9], ['single agent', 0.75]]);
  });

  it('leaves out the charts with no data', () => {
    const bare = { ...report, debate: null, evaluation: null, training: [report.training[0]] };
    expect(Object.keys(chartSpecs(bare))).toEqual(['training-loss']);
  });

  it('renders every chart to a PNG and an SVG', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'agentark-charts-'));
    try {
      const names = Object.keys(chartSpecs(report));
      const files = await renderCharts(chartSpecs(report), dir);
      expect(files.sort()).toEqual(names.flatMap((n) => [`${n}.png`, `${n}.svg`].map((f) => path.join(dir, f))).sort());
      for (const name of names) {
        const png = await fs.readFile(path.join(dir, `${name}.png`));
        expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        expect(png.length).toBeGreaterThan(10_000);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('says what went wrong when a spec does not render', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'agentark-charts-'));
    try {
      await expect(renderCharts({ broken: { mark: 'nonsense' } }, dir)).rejects.toThrow(/chart rendering failed \(exit 1\).*chart 'broken'/s);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('markdown: the results row, escaped, and the other sections', () => {
    const md = reportMarkdown(report, { accuracy: 'charts/accuracy.png' });
    expect(md).toContain('| pad\\|da | gsm8k | 10 | 70.0% [39.7, 89.2] | 0 | 1 | 212 |');
    expect(md).toContain('| gsm8k | m1 | 10 | 90.0% | 75.0% |');
    expect(md).toContain('| rsft | rsft | 3 | 0.8000 | 42 |');
    expect(md).toContain('agent accuracy by round (carried forward): round 1 50.0%, round 2 70.0%');
    expect(md).toContain('consensus: 80.0% (8/10)');
    expect(md).toContain('DA eligible (at least 2 correct agents): 7 problems');
    expect(md).toContain('![Accuracy by model (95% interval)](charts/accuracy.png)');
    expect(md).not.toContain('## Regressions');
  });

  it('html: one self-contained page', () => {
    const html = reportHtml({ ...report, evaluation: { ...report.evaluation!, scores: [score('<b>&', 5, 0.2, 0.8)] } }, { accuracy: Buffer.from('png bytes') });
    expect(html).toContain(`data:image/png;base64,${Buffer.from('png bytes').toString('base64')}`);
    expect(html).toContain('<td>&#60;b&#62;&#38;</td>');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('plain-text results table lists each model in aligned columns', () => {
    const lines = resultsTable(report).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^base\s+gsm8k\s+10\s+60\.0% \[31\.3, 83\.2\]/);
    expect(lines[3]).toMatch(/^pad\|da\s+gsm8k\s+10\s+70\.0% \[39\.7, 89\.2\]/);
    expect(new Set(lines.map((l) => l.indexOf('gsm8k')).filter((i) => i > 0)).size).toBe(1);
  });
});
