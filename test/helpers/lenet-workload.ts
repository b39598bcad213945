/**
 * A short training run that the browser and webgpu tests repeat on several platforms and
 * backends: LeNet-5 on a fixed batch where class k brightens quadrant k, Adam, 8 steps.
 * It takes the tsgrad module as an argument so the browser can pass dist/src/browser.js.
 */
import type * as Tsgrad from '../../src/browser.js';

export interface BrowserRun {
  backend: string;
  threads: number;
  losses: number[];
}

export async function trainSteps(T: typeof Tsgrad, threads: number): Promise<BrowserRun> {
  T.setNumThreads(threads);
  T.manualSeed(3);
  const net = new T.LeNet5({ numClasses: 4 });
  const y = T.tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: 'int32' });
  const quadrant = T.oneHot(y, 4).reshape([8, 1, 2, 1, 2, 1]).expand([8, 1, 2, 14, 2, 14]).contiguous();
  const x = T.randn([8, 1, 28, 28], { generator: new T.Generator(5) })
    .mul(0.5)
    .add(quadrant.reshape([8, 1, 28, 28]));
  const opt = new T.Adam(net.parameters(), { lr: 2e-3 });
  const losses: number[] = [];
  for (let step = 0; step < 8; step++) {
    opt.zeroGrad();
    const loss = T.crossEntropy(net.forward(x), y);
    loss.backward();
    opt.step();
    losses.push(await loss.item());
  }
  return { backend: T.getBackend().name, threads: T.getNumThreads(), losses };
}
