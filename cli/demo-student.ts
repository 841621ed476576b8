import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { storeFor } from '../activities/artifacts';
import { uploadFolder } from '../activities/trainer/folders';
import { trainerPython } from '../activities/trainer/gpu-slots';
import type { ModelRef } from '../core/training';
import { locateModel } from '../infra/llm-server/locate-model';
import { repoRoot, stateDir } from '../infra/dev/paths';

const STUDENT_KEY = 'models/smollm2-135m-instruct';

/**
 * The demo's student: the packaged SmolLM2-135M .gguf dequantised once into a Hugging Face folder
 * (the trainer's `export` job) and put in the store. Every job then loads plain safetensors in
 * seconds instead of dequantising the .gguf again (about a minute on two cores).
 */
export async function demoStudent(log: (line: string) => void): Promise<ModelRef> {
  const store = storeFor();
  const marker = `${STUDENT_KEY}/config.json`; // uploaded last
  if (await store.exists(marker)) return { key: STUDENT_KEY };
  const local = path.join(stateDir, 'models', 'smollm2-135m-instruct');
  if (!fs.existsSync(path.join(local, 'config.json'))) {
    log('student: converting the SmolLM2-135M .gguf into a Hugging Face folder (once)');
    fs.mkdirSync(path.dirname(local), { recursive: true });
    const config = `${local}.export.json`;
    fs.writeFileSync(config, JSON.stringify({ model: { gguf: locateModel() }, output: local }));
    const r = spawnSync(trainerPython(), ['-m', 'agentark_trainer', 'export', '--config', config], {
      cwd: path.join(repoRoot, 'trainer'), env: { ...process.env, HF_HUB_OFFLINE: '1' }, encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`converting the demo student failed (exit ${r.status}): ${(r.stderr ?? '').split('\n').slice(-8).join('\n')}`);
  }
  await uploadFolder(store, local, STUDENT_KEY, 'config.json');
  return { key: STUDENT_KEY };
}
