/**
 * Must compile under `strict` against the built package ('tsgrad' resolves to dist/): the
 * typed forms a user writes without casts. The `@ts-expect-error` lines must each be errors
 * (tsc reports an unused one), so the mistakes they hold are caught.
 */
import {
  type Callback,
  type Logs,
  ArrayDataset,
  DataLoader,
  EarlyStopping,
  LeNet5,
  Adam,
  arange,
  evaluate,
  fit,
  fromArray,
  metricValue,
  randint,
  randn,
  summary,
  tensor,
  zeros,
  zerosLike,
} from 'tsgrad';

// 1. Reads typed by the tensor's dtype.
export const f32: Float32Array = tensor([1, 2, 3]).dataSync();
export const nested: Float32Array = tensor([
  [1, 2],
  [3, 4],
]).dataSync();
export const i32: Int32Array = tensor([1, 2], { dtype: 'int32' }).dataSync();
export const f64: Float64Array = tensor(new Float64Array(3)).dataSync();
export const bools: Uint8Array = tensor([true, false]).dataSync();
export const labels: Int32Array = randint(0, 10, [8]).dataSync();
export const grads: Float64Array = zeros([2], { dtype: 'float64', requiresGrad: true }).dataSync();
export const math: Float32Array = randn([2, 3])
  .mul(2)
  .add(randn([2, 3]))
  .relu()
  .sum(1)
  .dataSync();
export const argmax: Int32Array = randn([4, 10]).argmax(1).dataSync();
export const mask: Uint8Array = randn([4]).gt(0).dataSync();
export const view: Float32Array = fromArray(new Float32Array(6), [2, 3]).T.reshape(6).dataSync();
export const like: Int32Array = zerosLike(tensor([1], { dtype: 'int32' })).dataSync();
export const cast: Float32Array = tensor([1], { dtype: 'int32' }).float().dataSync();
export const anyRange: Int32Array | Float32Array = arange(5).dataSync();
export async function asyncRead(): Promise<Float32Array> {
  return tensor([1]).data();
}
// @ts-expect-error: a float32 tensor's values are not an Int32Array
export const wrong: Int32Array = tensor([1, 2]).dataSync();
// @ts-expect-error: a float32 tensor plus a float64 one is not known to stay float32
export const promoted: Float32Array = tensor([1])
  .add(tensor([1], { dtype: 'float64' }))
  .dataSync();

// 1. Data as users hold it: tensors into ArrayDataset, fit and evaluate; batches as {x, y} or [x, y].
const x = randn([64, 1, 28, 28]);
const y = randint(0, 10, [64]);
const ds = new ArrayDataset(x, y);
for (const { x: bx, y: by } of new DataLoader(ds, { batchSize: 16 })) void [bx.shape, by.shape];
for (const [bx, by] of new DataLoader(ds, { batchSize: 16 })) void [bx.shape, by.shape];
const model = new LeNet5();

// 3. Logs: known metric names typed, custom ones through Logs<'name'> or metricValue().
const logger: Callback = {
  onEpochEnd: (_t, epoch, logs) => {
    const loss: number = logs.loss;
    const val: number | undefined = logs.val_accuracy;
    const top5: number | undefined = logs.val_top5;
    const lr: number = logs.lr;
    const custom: number | undefined = metricValue(logs, 'test_accuracy');
    void [epoch, loss, val, top5, lr, custom];
    // @ts-expect-error: val_acc is not a metric (val_accuracy is)
    void logs.val_acc;
  },
};
export function withCustom(logs: Logs<'test_accuracy'>): number | undefined {
  return logs.test_accuracy;
}

export async function train(): Promise<void> {
  const history = await fit(model, {
    train: [x, y],
    val: { x, y },
    epochs: 1,
    optimizer: new Adam(model.parameters()),
    callbacks: [logger, new EarlyStopping({ monitor: 'val_loss' })],
  });
  const last: number = history[0]!.loss;
  // 2. evaluate with the default loss (cross-entropy), on a Dataset or on tensors.
  const r = evaluate(model, ds);
  const r2 = evaluate(model, [x, y], { batchSize: 32 });
  void [last, r.accuracy, r2.loss];
  // 2. summary prints as its table.
  console.log(summary(model, [1, 1, 28, 28]));
}
