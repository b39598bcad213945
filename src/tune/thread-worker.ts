/**
 * Entry of a local trial worker thread (started by ThreadRunner). It has its own
 * backend and thread count (TSGRAD_BACKEND / TSGRAD_NUM_THREADS in its environment),
 * loads the objective module once, and runs the trials the coordinator sends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadObjective, runModuleTrial } from './remote.js';
import type { Params } from './space.js';

interface RunMessage {
  type: 'run';
  number: number;
  params: Params;
  dir: string | null;
  payload: unknown;
}
interface DecisionMessage {
  type: 'decision';
  number: number;
  step: number;
  prune: boolean;
}

const port = parentPort!;
const { objectiveModule } = workerData as { objectiveModule: string };
const objectivePromise = loadObjective(objectiveModule);
const pending = new Map<string, (prune: boolean) => void>();

port.on('message', (msg: RunMessage | DecisionMessage) => {
  if (msg.type === 'decision') {
    pending.get(`${msg.number}:${msg.step}`)?.(msg.prune);
    pending.delete(`${msg.number}:${msg.step}`);
    return;
  }
  void (async () => {
    try {
      const objective = await objectivePromise;
      const outcome = await runModuleTrial(objective, msg, (step, value) => {
        const decided = new Promise<boolean>((resolve) => pending.set(`${msg.number}:${step}`, resolve));
        port.postMessage({ type: 'report', number: msg.number, step, value });
        return decided;
      });
      port.postMessage({ type: 'done', number: msg.number, outcome });
    } catch (e) {
      port.postMessage({
        type: 'done',
        number: msg.number,
        outcome: { state: 'failed', error: e instanceof Error ? e.message : String(e), attrs: {} },
      });
    }
  })();
});
