import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { venvBin } from '../../infra/dev/paths';

/**
 * How the gpu worker shares its machine among trainer jobs: one job per GPU (each pinned with
 * CUDA_VISIBLE_DEVICES), one torchrun job across every GPU of the node (AGENTARK_GPU_MODE=node), or,
 * with no GPU, one job on the CPU.
 */

export interface SlotPlan {
  mode: 'gpu' | 'node' | 'cpu';
  /** Jobs at once: the worker's activity concurrency. */
  slots: number;
  gpus: number;
}

export interface Launch {
  command: string;
  /** Arguments before `<job> --config …`. */
  prefix: string[];
  env: Record<string, string>;
}

export function countGpus(): number {
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter((l) => /^GPU \d+/.test(l)).length;
  } catch {
    return 0;
  }
}

/** The GPUs this worker may use: CUDA_VISIBLE_DEVICES when the environment already narrows them, else all it finds. */
export function visibleGpus(env: NodeJS.ProcessEnv = process.env, found: number = countGpus()): string[] {
  if (found === 0) return [];
  const mask = env.CUDA_VISIBLE_DEVICES;
  if (mask === undefined) return Array.from({ length: found }, (_, i) => String(i));
  return mask.split(',').map((d) => d.trim()).filter((d) => d !== '' && d !== '-1');
}

export function planSlots(env: NodeJS.ProcessEnv = process.env, gpus: number = visibleGpus(env).length): SlotPlan {
  const mode = env.AGENTARK_GPU_MODE ?? 'gpu';
  if (mode !== 'gpu' && mode !== 'node') throw new Error(`AGENTARK_GPU_MODE must be "gpu" (one job per GPU) or "node" (one torchrun job per node), got ${JSON.stringify(mode)}`);
  if (gpus === 0) return { mode: 'cpu', slots: 1, gpus: 0 };
  if (mode === 'node') return { mode: 'node', slots: 1, gpus };
  const slots = env.AGENTARK_GPU_SLOTS === undefined ? gpus : Number(env.AGENTARK_GPU_SLOTS);
  if (!Number.isInteger(slots) || slots < 1 || slots > gpus) throw new Error(`AGENTARK_GPU_SLOTS must be an integer from 1 to ${gpus} (GPUs on this machine), got ${JSON.stringify(env.AGENTARK_GPU_SLOTS)}`);
  return { mode: 'gpu', slots, gpus };
}

/** The Python that runs the trainer: AGENTARK_TRAINER_PYTHON, else the project's venv, else python3. */
export function trainerPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AGENTARK_TRAINER_PYTHON) return env.AGENTARK_TRAINER_PYTHON;
  return existsSync(venvBin('python')) ? venvBin('python') : 'python3';
}

/** Hands out slots: which GPU (or GPUs) a job gets. The worker's concurrency equals `slots`, so one is always free when a job starts. */
export class SlotPool {
  private readonly free: number[];

  constructor(readonly plan: SlotPlan, private readonly python: string = trainerPython(), private readonly devices: string[] = visibleGpus()) {
    this.free = Array.from({ length: plan.slots }, (_, i) => i);
  }

  acquire(): { slot: number; launch: Launch; release: () => void } {
    const slot = this.free.shift();
    if (slot === undefined) throw new Error(`all ${this.plan.slots} trainer slots are busy (the worker's concurrency must equal its slots)`);
    const release = (): void => {
      if (!this.free.includes(slot)) this.free.push(slot);
    };
    const m = ['-m', 'agentark_trainer'];
    if (this.plan.mode === 'node') {
      const launch = { command: this.python, prefix: ['-m', 'torch.distributed.run', '--standalone', `--nproc-per-node=${this.plan.gpus}`, ...m], env: {} };
      return { slot, launch, release };
    }
    const env: Record<string, string> = this.plan.mode === 'gpu' ? { CUDA_VISIBLE_DEVICES: this.devices[slot] ?? String(slot) } : {};
    return { slot, launch: { command: this.python, prefix: m, env }, release };
  }
}
