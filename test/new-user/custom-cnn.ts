/**
 * A custom CNN as a new user writes one in a fresh project (compiled there with tsc --strict
 * by test/docs/new-user.test.ts, against the installed tarball): a Module subclass, tensors
 * straight into ArrayDataset, a hand-written loop over [x, y] batches, fit with callbacks that
 * read typed logs, evaluate with its default loss, and printing.
 */
import {
  type Tensor,
  Adam,
  ArrayDataset,
  Conv2d,
  DataLoader,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  crossEntropy,
  evaluate,
  fit,
  loadMnistPackage,
  manualSeed,
  noGrad,
  summary,
  tensor,
} from 'tsgrad';

class SmallCnn extends Module {
  readonly features = new Sequential(
    new Conv2d(1, 8, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(8, 16, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
  );
  readonly head = new Sequential(new Flatten(), new Linear(16 * 7 * 7, 10));

  forward(x: Tensor): Tensor {
    return this.head.forward(this.features.forward(x));
  }
}

manualSeed(1);
const { train, test } = loadMnistPackage();
const n = 512;
// Images as a float tensor [N, 1, 28, 28] in [0, 1], labels as an int32 tensor.
const images = tensor(train.images.subarray(0, n * 784), { shape: [n, 1, 28, 28] }).div(255);
const labels = tensor(train.labels.subarray(0, n), { dtype: 'int32' });
const data = new ArrayDataset(images, labels);

const model = new SmallCnn();
console.log(summary(model, [1, 1, 28, 28]));
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });

// One epoch by hand, PyTorch style.
model.train();
for (const [x, y] of new DataLoader(data, { batchSize: 64, shuffle: true })) {
  const loss = crossEntropy(model.forward(x), y);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
}

// Two more with fit; logs are typed (logs.val_acc would not compile).
const history = await fit(model, {
  train: [images, labels],
  val: new ArrayDataset(test.images.subarray(0, 256 * 784), test.labels.subarray(0, 256), [1, 28, 28], {
    scale: 1 / 255,
  }),
  epochs: 2,
  batchSize: 64,
  optimizer,
  callbacks: [{ onEpochEnd: (_t, epoch, logs) => console.log(`epoch ${epoch + 1}: loss ${logs.loss.toFixed(3)}`) }],
});

const result = evaluate(model, [images, labels]);
console.log(`train accuracy ${result.accuracy.toFixed(3)}, val accuracy ${history.at(-1)!.val_accuracy}`);
const logits = noGrad(() => model.forward(images.narrow(0, 0, 2)));
console.log(logits);
const probabilities: Float32Array = logits.softmax(1).float().dataSync();
console.log(probabilities.length, await logits.argmax(1).data());
if (!(result.accuracy > 0.5)) throw new Error(`the custom CNN did not learn: accuracy ${result.accuracy}`);
