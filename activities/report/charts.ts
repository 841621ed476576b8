import type { Report } from '../../core/report';

/** A run's charts as Vega-Lite specs with their data inline. A chart with no data is left out. */

type Spec = Record<string, unknown>;

export const chartTitles: Record<string, string> = {
  accuracy: 'Accuracy by model (95% interval)',
  'training-loss': 'Training loss',
  grpo: 'GRPO training: reward, KL and accuracy',
  'debate-rounds': 'Debate accuracy by round',
};

const LINE_COLOR = '#4c78a8';
// Light bars, so that the reference lines' labels drawn over them stay readable.
const BAR_COLOR = '#a9c7e8';
const REFERENCE_COLORS = ['#c2282a', '#2a8a2a', '#7b4fa8', '#d46b08'];

const step = { field: 'step', type: 'quantitative', title: 'Step' };
const job = { field: 'job', type: 'nominal', title: 'Job' };
const percent = (field: string, title: string): Spec => ({ field, type: 'quantitative', title, scale: { domain: [0, 1] }, axis: { format: '.0%' } });

const chart = (name: string, body: Spec): Spec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: { text: chartTitles[name], fontSize: 15, anchor: 'start' },
  background: 'white',
  padding: 12,
  config: { font: 'DejaVu Sans', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 } },
  ...body,
});

/** Labelled dashed horizontal lines for the rows with kind 'line' ({ line: label, value }). */
const referenceLayers = (): Spec[] => {
  const lines = { transform: [{ filter: "datum.kind == 'line'" }, { calculate: "datum.line + ' ' + format(datum.value, '.1%')", as: 'label' }] };
  const color = { field: 'line', type: 'nominal', scale: { range: REFERENCE_COLORS }, legend: null };
  return [
    { ...lines, mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { field: 'value', type: 'quantitative' }, color } },
    { ...lines, mark: { type: 'text', align: 'right', dx: -2, dy: -6, fontSize: 11, fontWeight: 'bold' }, encoding: { x: { value: 'width' }, y: { field: 'value', type: 'quantitative' }, text: { field: 'label' }, color } },
  ];
};

function accuracyChart(report: Report): Spec | null {
  const scores = report.evaluation?.scores ?? [];
  if (scores.length === 0) return null;
  const testSets = new Set(scores.map((s) => s.testSet));
  const values = [
    ...scores.map((s) => ({ kind: 'score', testSet: s.testSet, model: s.model, accuracy: s.accuracy.rate, low: s.accuracy.low, high: s.accuracy.high })),
    ...scores.filter((s) => s.model === 'base').map((s) => ({ kind: 'line', testSet: s.testSet, line: 'base model', value: s.accuracy.rate })),
    ...(report.evaluation?.mas ?? []).filter((m) => testSets.has(m.testSet)).flatMap((m) => [
      { kind: 'line', testSet: m.testSet, line: 'MAS consensus', value: m.consensus },
      { kind: 'line', testSet: m.testSet, line: 'single agent', value: m.singleAgent },
    ]),
  ];
  const model = { field: 'model', type: 'nominal', title: 'Model', sort: null, axis: { labelAngle: -30 } };
  const scored = { transform: [{ filter: "datum.kind == 'score'" }] };
  return chart('accuracy', {
    data: { values },
    facet: { column: { field: 'testSet', type: 'nominal', title: 'Test set', header: { labelFontSize: 12, titleFontSize: 12 } } },
    spec: {
      width: { step: 56 },
      height: 280,
      layer: [
        { ...scored, mark: { type: 'bar', color: BAR_COLOR, width: { band: 0.7 } }, encoding: { x: model, y: percent('accuracy', 'Accuracy') } },
        { ...scored, mark: { type: 'errorbar', ticks: true, color: 'black' }, encoding: { x: model, y: percent('low', 'Accuracy'), y2: { field: 'high' } } },
        ...referenceLayers(),
      ],
    },
  });
}

function trainingLossChart(report: Report): Spec | null {
  const values = report.training.flatMap((t) => t.curve.filter((p) => p.loss != null).map((p) => ({ job: t.job, step: p.step, loss: p.loss })));
  if (values.length === 0) return null;
  return chart('training-loss', {
    data: { values },
    width: 480,
    height: 260,
    mark: { type: 'line', point: values.length <= 60 },
    encoding: { x: step, y: { field: 'loss', type: 'quantitative', title: 'Loss' }, color: job },
  });
}

const GRPO_METRICS = [
  { key: 'reward', y: { field: 'value', type: 'quantitative', title: 'Mean reward' } },
  { key: 'kl', y: { field: 'value', type: 'quantitative', title: 'KL to reference' } },
  { key: 'accuracy', y: percent('value', 'Rollout accuracy') },
] as const;

function grpoChart(report: Report): Spec | null {
  const values = report.training.flatMap((t) => t.curve.flatMap((p) =>
    GRPO_METRICS.flatMap(({ key }) => (p[key] == null ? [] : [{ job: t.job, step: p.step, metric: key, value: p[key] }]))));
  if (values.length === 0) return null;
  const present = GRPO_METRICS.filter(({ key }) => values.some((v) => v.metric === key));
  return chart('grpo', {
    data: { values },
    vconcat: present.map(({ key, y }) => ({
      width: 480,
      height: 140,
      transform: [{ filter: { field: 'metric', equal: key } }],
      mark: { type: 'line', point: true },
      encoding: { x: step, y, color: job },
    })),
  });
}

function debateRoundsChart(report: Report): Spec | null {
  const debate = report.debate;
  if (!debate) return null;
  const rounds = debate.rounds.filter((r) => r.accuracyCarriedForward != null).map((r) => ({ kind: 'round', round: r.round, accuracy: r.accuracyCarriedForward }));
  if (rounds.length === 0) return null;
  const consensus = debate.consensus.accuracy == null ? [] : [{ kind: 'line', line: 'consensus', value: debate.consensus.accuracy }];
  const round = { field: 'round', type: 'ordinal', title: 'Round', axis: { labelAngle: 0 } };
  const inRounds = { transform: [{ filter: "datum.kind == 'round'" }] };
  return chart('debate-rounds', {
    data: { values: [...rounds, ...consensus] },
    width: 360,
    height: 260,
    layer: [
      { ...inRounds, mark: { type: 'line', point: true, color: LINE_COLOR }, encoding: { x: round, y: percent('accuracy', 'Agent accuracy (carried forward)') } },
      { ...inRounds, mark: { type: 'text', dy: -10, fontSize: 10 }, encoding: { x: round, y: { field: 'accuracy', type: 'quantitative' }, text: { field: 'accuracy', format: '.1%' } } },
      ...referenceLayers(),
    ],
  });
}

export function chartSpecs(report: Report): Record<string, object> {
  const charts: Record<string, Spec | null> = {
    accuracy: accuracyChart(report),
    'training-loss': trainingLossChart(report),
    grpo: grpoChart(report),
    'debate-rounds': debateRoundsChart(report),
  };
  return Object.fromEntries(Object.entries(charts).filter((entry): entry is [string, Spec] => entry[1] !== null));
}
