/**
 * Must NOT compile: each line marked `// error TSnnnn` must give exactly that error, and no
 * other line may give one (checked by test/api/types.test.ts).
 */
import { type Callback, tensor, randn } from 'tsgrad';

export const a: Int32Array = tensor([1, 2]).dataSync(); // error TS2322
export const b: Float32Array = tensor([1, 2], { dtype: 'int32' }).dataSync(); // error TS2322
export const c: Float32Array = randn([2]).argmax().dataSync(); // error TS2322

export const cb: Callback = {
  onEpochEnd: (_t, _epoch, logs) => {
    console.log(logs.val_acc); // error TS2339
    console.log(logs.acc); // error TS2339
  },
};
