import { planSlots, SlotPool, visibleGpus } from '../../../activities/trainer/gpu-slots';

describe('gpu worker slots', () => {
  it('with no GPU: one job on the CPU, no device pinned', () => {
    const plan = planSlots({}, 0);
    expect(plan).toEqual({ mode: 'cpu', slots: 1, gpus: 0 });
    expect(new SlotPool(plan, 'py', []).acquire().launch).toEqual({ command: 'py', prefix: ['-m', 'agentark_trainer'], env: {} });
  });

  it('one job per GPU, each pinned to its own device, honouring a mask the environment already set', () => {
    const devices = visibleGpus({ CUDA_VISIBLE_DEVICES: '4,5,6' }, 8);
    expect(devices).toEqual(['4', '5', '6']);
    const pool = new SlotPool(planSlots({}, devices.length), 'py', devices);
    const taken = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(taken.map((t) => t.launch.env.CUDA_VISIBLE_DEVICES)).toEqual(['4', '5', '6']);
    expect(() => pool.acquire()).toThrow(/all 3 trainer slots are busy/);
    taken[1].release();
    expect(pool.acquire().launch.env.CUDA_VISIBLE_DEVICES).toBe('5');
  });

  it('node mode: one torchrun job across every GPU', () => {
    const plan = planSlots({ AGENTARK_GPU_MODE: 'node' }, 8);
    expect(plan).toEqual({ mode: 'node', slots: 1, gpus: 8 });
    expect(new SlotPool(plan, 'py', []).acquire().launch.prefix).toEqual(['-m', 'torch.distributed.run', '--standalone', '--nproc-per-node=8', '-m', 'agentark_trainer']);
  });

  it('bad settings say which variable and what it takes', () => {
    expect(() => planSlots({ AGENTARK_GPU_MODE: 'fast' }, 2)).toThrow(/AGENTARK_GPU_MODE must be "gpu".*"node"/);
    expect(() => planSlots({ AGENTARK_GPU_SLOTS: '3' }, 2)).toThrow(/AGENTARK_GPU_SLOTS must be an integer from 1 to 2/);
    expect(planSlots({ AGENTARK_GPU_SLOTS: '1' }, 2)).toEqual({ mode: 'gpu', slots: 1, gpus: 2 });
  });
});
