/**
 * The body of a ThreadTeam helper (thread-team.ts): it loads the same kernels as the thread it helps,
 * then runs each share it is posted and marks its status word with the call's number (negated when the
 * share threw: the calling thread then computes that share itself and reports the error).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type KernelName, kernelsNamed } from './kernels.js';
import { useCompiledModule } from './kernels-wasm.js';
import type { RowTask } from './row-tasks.js';
import { runRowTask } from './row-tasks.js';

const port = parentPort;
if (!port) throw new Error('team-thread.js runs as a worker thread only');

const {
  status,
  kernels: name,
  module,
} = workerData as { status: Int32Array; kernels: KernelName; module: object | null };
if (module) useCompiledModule(module);
const kernels = kernelsNamed(name);
if (!kernels) throw new Error(`the ${name} kernels cannot be loaded in a solver thread`);

port.on('message', ({ call, index, task }: { call: number; index: number; task: RowTask }) => {
  let mark = call;
  try {
    runRowTask(kernels, task);
  } catch {
    mark = -call;
  }
  Atomics.store(status, index, mark);
  Atomics.notify(status, index);
});
