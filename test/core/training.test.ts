import { dependencies, jobSettings, planTraining, TrainStudentInput, trainJobPrefix } from '../../core/training';

describe('the training plan (paper §3.3, App. F)', () => {
  it('runs each shared job once, dependencies first', () => {
    const names = planTraining(['pad+da', 'rsft+da', 'rsft', 'pad', 'da']).map((j) => j.name);
    expect(names).toEqual(['prm1', 'prm2', 'grpo', 'pad+da', 'rsft', 'rsft+da', 'da']);
    const order = planTraining(['pad+da', 'rsft+da']);
    order.forEach((job, i) => {
      for (const dep of dependencies(job)) expect(order.findIndex((j) => j.name === dep)).toBeLessThan(i);
    });
  });

  it('PAD is PRM stage I, then stage II from it, then GRPO with the stage-II PRM on the student', () => {
    const [prm1, prm2, grpo] = planTraining(['pad']);
    expect(prm1).toMatchObject({ trainer: 'prm', data: 'prm', model: 'student', fixed: { stage: 1 } });
    expect(prm2).toMatchObject({ trainer: 'prm', initFrom: 'prm1', fixed: { stage: 2 } });
    expect(grpo).toMatchObject({ trainer: 'grpo', data: 'grpo', model: 'student', prm: 'prm2' });
  });

  it('the +DA methods fine-tune the first method\'s model on da.jsonl', () => {
    const plan = planTraining(['rsft+da', 'pad+da']);
    expect(plan.find((j) => j.name === 'rsft+da')).toMatchObject({ trainer: 'sft', data: 'da', model: 'rsft' });
    expect(plan.find((j) => j.name === 'pad+da')).toMatchObject({ trainer: 'sft', data: 'da', model: 'grpo' });
  });

  it('settings layer: defaults < all < the job\'s own < the plan\'s fixed fields', () => {
    const config = TrainStudentInput.parse({
      runId: 'r', datasets: { runId: 'r' }, student: { arch: 'qwen3-tiny' },
      settings: { all: { lr: 1e-4, max_steps: 9 }, prm2: { lr: 2e-5 } },
    });
    const prm2 = planTraining(['pad'])[1];
    expect(jobSettings(config, prm2)).toEqual({ checkpoint_every: 50, lr: 2e-5, max_steps: 9, stage: 2 });
  });

  it('refuses settings the pipeline sets itself, and a student that is not exactly one thing, naming the fields', () => {
    const bad = TrainStudentInput.safeParse({
      runId: 'r', datasets: { runId: 'r' }, student: { arch: 'qwen3-tiny', path: '/m' }, methods: ['sft'],
      settings: { rsft: { data: 'x.jsonl' } },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['student', 'methods.0', 'settings.rsft.data']));
  });

  it('keys of different jobs never collide and carry no character S3 servers encode differently', () => {
    const prefixes = planTraining(['rsft', 'da', 'pad', 'rsft+da', 'pad+da']).map((j) => trainJobPrefix('run', j.name));
    expect(new Set(prefixes).size).toBe(7);
    for (const p of prefixes) expect(p).toMatch(/^runs\/run\/train\/[a-z0-9-]+\/[a-z0-9-]+$/);
  });
});

describe('the PPO ablation (App. B.2)', () => {
  it('pad-ppo shares the PRM chain with pad and ends in a ppo job on the student with the stage-II PRM', () => {
    const plan = planTraining(['pad', 'pad-ppo']);
    expect(plan.map((j) => j.name)).toEqual(['prm1', 'prm2', 'grpo', 'ppo']);
    expect(plan[3]).toMatchObject({ trainer: 'ppo', data: 'grpo', model: 'student', prm: 'prm2', method: 'pad-ppo' });
    expect(trainJobPrefix('run', 'ppo')).toBe('runs/run/train/pad-ppo/ppo');
    expect(TrainStudentInput.parse({ runId: 'r', datasets: { runId: 'r' }, student: { arch: 'qwen3-tiny' } }).methods).not.toContain('pad-ppo');
  });
});
