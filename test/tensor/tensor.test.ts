/**
 * Tensor API behaviour: creation, round trips, views, reading, autograd
 * bookkeeping (accumulation, noGrad, detach, un-broadcasting, retainGrad),
 * assign, shape helpers, reductions and composites. Expected values are
 * written out by hand or computed with plain loops in the test.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as T from '../../src/index.js';
import { Generator, type Tensor } from '../../src/index.js';
import { assertClose, assertShape } from '../helpers/assert.js';
import * as N from '../helpers/nd.js';

const f64 = { dtype: 'float64' as const };
const arr = (t: Tensor): number[] => [...t.dataSync()];

describe('creation', () => {
  test('zeros, ones, full: shape, dtype and values', () => {
    const z = T.zeros([2, 3]);
    assert.equal(z.dtype, 'float32');
    assertShape(z.shape, [2, 3]);
    assert.deepEqual(arr(z), [0, 0, 0, 0, 0, 0]);
    const o = T.ones([4], { dtype: 'int32' });
    assert.equal(o.dtype, 'int32');
    assert.deepEqual(arr(o), [1, 1, 1, 1]);
    const f = T.full([2, 2], 7.5, f64);
    assert.equal(f.dtype, 'float64');
    assert.deepEqual(f.arraySync(), [
      [7.5, 7.5],
      [7.5, 7.5],
    ]);
    const s = T.full([], -2);
    assertShape(s.shape, []);
    assert.equal(s.itemSync(), -2);
    assert.equal(T.zeros([0, 3]).numel, 0);
    assert.equal(T.ones([2], { requiresGrad: true }).requiresGrad, true);
  });

  test('zerosLike / onesLike / fullLike keep shape and dtype', () => {
    const x = T.tensor([[1, 2, 3]], f64);
    for (const [t, v] of [
      [T.zerosLike(x), 0],
      [T.onesLike(x), 1],
      [T.fullLike(x, 3), 3],
    ] as const) {
      assert.equal(t.dtype, 'float64');
      assertShape(t.shape, [1, 3]);
      assert.deepEqual(arr(t), [v, v, v]);
    }
  });

  test('arange with integers is int32', () => {
    const a = T.arange(5);
    assert.equal(a.dtype, 'int32');
    assert.deepEqual(arr(a), [0, 1, 2, 3, 4]);
    assert.deepEqual(arr(T.arange(2, 7, 2)), [2, 4, 6]);
    assert.deepEqual(arr(T.arange(5, 0, -2)), [5, 3, 1]);
    assert.equal(T.arange(3, 3).numel, 0);
  });

  test('arange with a float step is float32', () => {
    const a = T.arange(1, 2, 0.25);
    assert.equal(a.dtype, 'float32');
    assert.deepEqual(arr(a), [1, 1.25, 1.5, 1.75]);
    const b = T.arange(0, 1, 0.1, f64);
    assert.equal(b.dtype, 'float64');
    assert.equal(b.numel, 10);
    assertClose(arr(b), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], 1e-12);
  });

  test('arange with a float end is float32 (int32 only when start, end and step are all integers)', () => {
    // The doc comment promises int32 only "when all three are integers"; PyTorch's arange(0, 2.5) is float too.
    const a = T.arange(0, 2.5);
    assert.deepEqual(arr(a), [0, 1, 2]);
    assert.equal(a.dtype, 'float32');
  });

  test('linspace includes both ends', () => {
    assert.deepEqual(arr(T.linspace(0, 1, 5)), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(arr(T.linspace(3, -3, 3, f64)), [3, 0, -3]);
    assert.deepEqual(arr(T.linspace(2, 9, 1)), [2]);
  });

  test('eye, square and rectangular', () => {
    assert.deepEqual(T.eye(3).arraySync(), [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    assert.deepEqual(T.eye(2, 3).arraySync(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
  });

  test('rand and randn are deterministic for a seeded Generator and differ across seeds', () => {
    const a = arr(T.rand([50], { generator: new Generator(1) }));
    const b = arr(T.rand([50], { generator: new Generator(1) }));
    const c = arr(T.rand([50], { generator: new Generator(2) }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(
      a.every((v) => v >= 0 && v < 1),
      'rand in [0, 1)',
    );
    const n1 = arr(T.randn([7], { generator: new Generator(9), dtype: 'float64' }));
    const n2 = arr(T.randn([7], { generator: new Generator(9), dtype: 'float64' }));
    assert.deepEqual(n1, n2);
    // The stream matches the generator's own draws.
    const g = new Generator(9);
    assert.deepEqual(
      n1,
      Array.from({ length: 7 }, () => g.normal()),
    );
  });

  test('manualSeed makes the default generator reproducible', () => {
    T.manualSeed(123);
    const a = arr(T.rand([5]));
    const n = arr(T.randn([5]));
    T.manualSeed(123);
    assert.deepEqual(arr(T.rand([5])), a);
    assert.deepEqual(arr(T.randn([5])), n);
    T.manualSeed(124);
    assert.notDeepEqual(arr(T.rand([5])), a);
  });

  test('randn has mean ≈ 0 and standard deviation ≈ 1; rand has mean ≈ 1/2', () => {
    const n = arr(T.randn([4000], { generator: new Generator(5), dtype: 'float64' }));
    const mean = n.reduce((s, v) => s + v, 0) / n.length;
    const sd = Math.sqrt(n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length);
    assert.ok(Math.abs(mean) < 0.06, `mean ${mean}`);
    assert.ok(Math.abs(sd - 1) < 0.06, `sd ${sd}`);
    const u = arr(T.rand([4000], { generator: new Generator(6) }));
    const um = u.reduce((s, v) => s + v, 0) / u.length;
    assert.ok(Math.abs(um - 0.5) < 0.03, `uniform mean ${um}`);
  });

  test('randint draws int32 values in [low, high) and reaches both ends', () => {
    const r = T.randint(-2, 3, [500], { generator: new Generator(11) });
    assert.equal(r.dtype, 'int32');
    const v = arr(r);
    assert.ok(
      v.every((x) => Number.isInteger(x) && x >= -2 && x < 3),
      'range',
    );
    assert.deepEqual(
      [...new Set(v)].sort((a, b) => a - b),
      [-2, -1, 0, 1, 2],
    );
    assert.deepEqual(arr(T.randint(-2, 3, [20], { generator: new Generator(11) })), v.slice(0, 20));
  });
});

describe('nested arrays', () => {
  test('round trip of 1-D, 2-D, 3-D and scalar values', () => {
    const cases = [
      [1.5, -2, 3],
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [[1], [2]],
        [[3], [4]],
        [[5], [6]],
      ],
    ];
    for (const c of cases) assert.deepEqual(T.tensor(c, f64).arraySync(), c);
    const s = T.tensor(4.25);
    assertShape(s.shape, []);
    assert.equal(s.arraySync(), 4.25);
  });

  test('dtypes: float32 default, int32 on request, bool from booleans', () => {
    assert.equal(T.tensor([1, 2]).dtype, 'float32');
    const i = T.tensor([[1, -2]], { dtype: 'int32' });
    assert.equal(i.dtype, 'int32');
    assert.deepEqual(i.arraySync(), [[1, -2]]);
    const b = T.tensor([true, false, true]);
    assert.equal(b.dtype, 'bool');
    assert.deepEqual(b.arraySync(), [1, 0, 1]);
  });

  test('bool tensors made from numbers hold 0/1 (nonzero is true), as PyTorch does', () => {
    const b = T.tensor([2, 0, -1], { dtype: 'bool' });
    assert.deepEqual(b.arraySync(), [1, 0, 1]);
    assert.equal(b.sum().itemSync(), 2);
    assert.deepEqual(arr(b.eq(T.tensor([true, false, true]))), [1, 1, 1]);
    assert.equal(T.full([3], 5, { dtype: 'bool' }).sum().itemSync(), 3);
  });

  test('a shape [0] tensor from an empty array', () => {
    const e = T.tensor([]);
    assertShape(e.shape, [0]);
    assert.deepEqual(e.arraySync(), []);
  });

  test('arraySync of a non-contiguous view nests in logical order', async () => {
    const x = T.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(x.T.arraySync(), [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    assert.deepEqual(await x.T.array(), x.T.arraySync());
  });
});

describe('views share storage', () => {
  const x = T.arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);

  test('reshape of a contiguous tensor is a view', () => {
    const y = x.reshape(6, 4);
    assert.equal(y.storage, x.storage);
    assert.deepEqual(arr(y), arr(x));
    assert.equal(x.view(4, 6).storage, x.storage);
    assert.equal(x.flatten().storage, x.storage);
    assert.equal(x.unsqueeze(0).storage, x.storage);
  });

  test('transpose / permute are views', () => {
    const t = x.transpose(0, 2);
    assert.equal(t.storage, x.storage);
    assert.ok(!t.isContiguous());
    assert.deepEqual(t.shape, [4, 3, 2]);
    assert.equal(N.get({ shape: [4, 3, 2], data: arr(t) }, [3, 1, 0]), 1 * 4 + 3);
    assert.equal(x.permute(1, 2, 0).storage, x.storage);
  });

  test('slice / narrow / select are views with an offset', () => {
    const s = x.slice([
      [1, 2],
      [0, 3, 2],
      [1, 4, 2],
    ]);
    assert.equal(s.storage, x.storage);
    assert.deepEqual(s.arraySync(), [
      [
        [13, 15],
        [21, 23],
      ],
    ]);
    assert.equal(x.narrow(1, 1, 2).storage, x.storage);
    const sel = x.select(0, 1);
    assert.equal(sel.storage, x.storage);
    assert.deepEqual(arr(sel), N.build([3, 4], ([i, j]) => 12 + i! * 4 + j!).data);
  });

  test('expand is a stride-0 view', () => {
    const c = T.tensor([[1], [2]]);
    const e = c.expand(2, 3);
    assert.equal(e.storage, c.storage);
    assert.deepEqual(e.arraySync(), [
      [1, 1, 1],
      [2, 2, 2],
    ]);
  });

  test('detach shares storage', () => {
    const a = T.ones([3], { requiresGrad: true }).mul(2);
    assert.equal(a.detach().storage, a.storage);
  });

  test('contiguous() copies a non-contiguous view and returns a contiguous tensor unchanged', () => {
    const t = x.transpose(1, 2);
    const c = t.contiguous();
    assert.notEqual(c.storage, x.storage);
    assert.ok(c.isContiguous());
    assert.deepEqual(arr(c), arr(t));
    assert.equal(x.contiguous(), x);
  });

  test('reshape of a non-contiguous view copies', () => {
    const r = x.transpose(0, 1).reshape(-1);
    assert.notEqual(r.storage, x.storage);
    assert.deepEqual(arr(r), N.reshapeNd(N.transposeNd({ shape: [2, 3, 4], data: arr(x) }, 0, 1), [24]).data);
  });
});

describe('reading values', () => {
  test('data() resolves to the same values as dataSync(), for dense tensors and views', async () => {
    const x = T.randn([3, 4], { generator: new Generator(3) });
    for (const t of [
      x,
      x.T,
      x.slice([[1, 3]]),
      x.slice([null, [1, 4, 2]]),
      x.select(0, 2),
      T.tensor([[1], [2]]).expand(2, 2),
    ]) {
      const a = await t.data();
      assert.deepEqual([...a], [...t.dataSync()]);
      assert.equal(a.length, t.numel);
    }
  });

  test('dataSync of an offset view has exactly numel entries', () => {
    const x = T.arange(12).reshape(3, 4);
    const row = x.select(0, 2);
    assert.deepEqual(arr(row), [8, 9, 10, 11]);
    assert.equal(row.dataSync().length, 4);
  });

  test('item() and itemSync() of one-element tensors', async () => {
    assert.equal(await T.tensor([[2.5]]).item(), 2.5);
    assert.equal(T.tensor(7, { dtype: 'int32' }).itemSync(), 7);
  });
});

describe('autograd bookkeeping', () => {
  test('gradients accumulate across two backward calls', () => {
    const x = T.tensor([1, -2, 3], { ...f64, requiresGrad: true });
    x.mul(x).sum().backward(); // 2x
    x.mul(3).sum().backward(); // 3
    assert.deepEqual(arr(x.grad!), [2 + 3, -4 + 3, 6 + 3]);
  });

  test('a leaf used twice in one graph gets the sum of both paths', () => {
    const x = T.tensor([2, 5], { ...f64, requiresGrad: true });
    x.mul(x).add(x.exp()).sum().backward();
    assertClose(arr(x.grad!), [4 + Math.exp(2), 10 + Math.exp(5)], 1e-12);
  });

  test('noGrad records no graph and results do not require a gradient', () => {
    const x = T.ones([2], { requiresGrad: true });
    const y = T.noGrad(() => {
      assert.equal(T.isGradEnabled(), false);
      return x.mul(2).add(1);
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(y.node, null);
    assert.equal(T.isGradEnabled(), true);
    assert.equal(x.mul(2).requiresGrad, true);
  });

  test('noGrad restores recording when the function throws', () => {
    assert.throws(() =>
      T.noGrad(() => {
        throw new Error('inside');
      }),
    );
    assert.equal(T.isGradEnabled(), true);
  });

  test('noGrad works with an async function (across awaits) and restores afterwards', async () => {
    const x = T.ones([2], { requiresGrad: true });
    const p = T.noGrad(async () => {
      await new Promise((r) => setTimeout(r, 1));
      const y = x.mul(3);
      assert.equal(y.requiresGrad, false);
      assert.equal(y.node, null);
      return y;
    });
    const y = await p;
    assert.deepEqual(arr(y), [3, 3]);
    assert.equal(T.isGradEnabled(), true);
    assert.equal(x.mul(3).requiresGrad, true);
  });

  test('detach cuts the graph', () => {
    const x = T.tensor([1, 2], { ...f64, requiresGrad: true });
    const d = x.mul(x).detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.isLeaf, true);
    x.mul(d).sum().backward(); // d is a constant: the gradient is d = x², not 3x²
    assert.deepEqual(arr(x.grad!), [1, 4]);
  });

  test('un-broadcasting: the gradient of a [3,1] operand added to [2,3,4] has shape [3,1]', () => {
    const g = new Generator(21);
    const aNd = N.randnNd(g, [3, 1]);
    const bNd = N.randnNd(g, [2, 3, 4]);
    const wNd = N.randnNd(g, [2, 3, 4]);
    const a = T.tensor(Float64Array.from(aNd.data), { shape: [3, 1], ...f64, requiresGrad: true });
    const b = T.tensor(Float64Array.from(bNd.data), { shape: [2, 3, 4], ...f64, requiresGrad: true });
    const w = T.tensor(Float64Array.from(wNd.data), { shape: [2, 3, 4], ...f64 });
    a.add(b).mul(w).sum().backward();
    assertShape(a.grad!.shape, [3, 1]);
    const expected = [0, 0, 0];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expected[j]! += N.get(wNd, [i, j, k]);
    assertClose(arr(a.grad!), expected, 1e-12, 'grad of a');
    assertShape(b.grad!.shape, [2, 3, 4]);
    assertClose(arr(b.grad!), wNd.data, 1e-12, 'grad of b');
  });

  test('un-broadcasting of a rank-0 operand and a [1,4] operand', () => {
    const s = T.tensor(2, { ...f64, requiresGrad: true });
    const r = T.tensor([[1, 2, 3, 4]], { ...f64, requiresGrad: true });
    const m = T.tensor(
      Float64Array.from({ length: 12 }, (_, i) => i),
      { shape: [3, 4], ...f64 },
    );
    s.mul(m).add(r).sum().backward();
    assertShape(s.grad!.shape, []);
    assert.equal(s.grad!.itemSync(), 66);
    assertShape(r.grad!.shape, [1, 4]);
    assert.deepEqual(arr(r.grad!), [3, 3, 3, 3]);
  });

  test('retainGrad keeps the gradient of an intermediate tensor; others have none', () => {
    const x = T.tensor([1, 2, 3], { ...f64, requiresGrad: true });
    const h = x.mul(2).retainGrad();
    const k = h.add(1);
    k.mul(k).sum().backward(); // d/dh (h+1)² = 2(h+1)
    assert.deepEqual(arr(h.grad!), [6, 10, 14]);
    assert.equal(k.grad, null);
    assert.deepEqual(arr(x.grad!), [12, 20, 28]);
  });

  test('pow with exponent 0 has gradient 0 at base 0 (x⁰ is constant; PyTorch gives 0)', () => {
    const x = T.tensor([0, 2], { ...f64, requiresGrad: true });
    x.pow(0).sum().backward();
    assert.deepEqual(arr(x.grad!), [0, 0]);
  });

  test('backward with an explicit gradient weights the output', () => {
    const x = T.tensor([1, 2], { ...f64, requiresGrad: true });
    x.mul(x).backward(T.tensor([10, -1], f64));
    assert.deepEqual(arr(x.grad!), [20, -4]);
  });
});

describe('assign', () => {
  test('replaces the contents, casts to the target dtype, records nothing', () => {
    const p = T.zeros([2, 2], { requiresGrad: true });
    p.assign(
      T.tensor(
        [
          [1.5, 2],
          [3, 4],
        ],
        f64,
      ),
    );
    assert.equal(p.dtype, 'float32');
    assert.deepEqual(p.arraySync(), [
      [1.5, 2],
      [3, 4],
    ]);
    assert.equal(p.isLeaf, true);
    assert.equal(p.requiresGrad, true);
  });

  test('assigning a non-contiguous value stores it in logical order', () => {
    const p = T.zeros([3, 2]);
    p.assign(
      T.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]).T,
    );
    assert.deepEqual(p.arraySync(), [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  test('assign onto a transposed view uses the new layout', () => {
    const p = T.zeros([2, 3]).T;
    p.assign(T.arange(6, undefined, 1, { dtype: 'float32' }).reshape(3, 2));
    assert.deepEqual(p.arraySync(), [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });
});

describe('shape helpers', () => {
  const x = T.tensor(
    Float64Array.from({ length: 6 }, (_, i) => i + 1),
    { shape: [2, 3], ...f64 },
  );

  test('stack along axes 0, 1 and -1', () => {
    const y = T.tensor(
      [
        [7, 8, 9],
        [10, 11, 12],
      ],
      f64,
    );
    assert.deepEqual(T.stack([x, y]).arraySync(), [x.arraySync(), y.arraySync()]);
    assert.deepEqual(T.stack([x, y], 1).arraySync(), [
      [
        [1, 2, 3],
        [7, 8, 9],
      ],
      [
        [4, 5, 6],
        [10, 11, 12],
      ],
    ]);
    assertShape(T.stack([x, y], -1).shape, [2, 3, 2]);
    assert.deepEqual(arr(T.stack([x, y], -1)), [1, 7, 2, 8, 3, 9, 4, 10, 5, 11, 6, 12]);
  });

  test('concat along axes 0 and 1', () => {
    assert.deepEqual(T.concat([x, T.tensor([[0, 0, 0]], f64)]).arraySync(), [
      [1, 2, 3],
      [4, 5, 6],
      [0, 0, 0],
    ]);
    assert.deepEqual(T.concat([T.tensor([[9], [8]], f64), x], 1).arraySync(), [
      [9, 1, 2, 3],
      [8, 4, 5, 6],
    ]);
  });

  test('pad pads the last axes with the value', () => {
    assert.deepEqual(x.pad([[1, 0]], -1).arraySync(), [
      [-1, 1, 2, 3],
      [-1, 4, 5, 6],
    ]);
    assert.deepEqual(
      x
        .pad([
          [0, 1],
          [1, 1],
        ])
        .arraySync(),
      [
        [0, 1, 2, 3, 0],
        [0, 4, 5, 6, 0],
        [0, 0, 0, 0, 0],
      ],
    );
  });

  test('squeeze / unsqueeze / flatten', () => {
    const z = T.zeros([2, 1, 3, 1]);
    assertShape(z.squeeze().shape, [2, 3]);
    assertShape(z.squeeze(1).shape, [2, 3, 1]);
    assertShape(z.squeeze(-1).shape, [2, 1, 3]);
    assertShape(z.squeeze(0).shape, [2, 1, 3, 1]);
    assertShape(x.unsqueeze(0).shape, [1, 2, 3]);
    assertShape(x.unsqueeze(-1).shape, [2, 3, 1]);
    assertShape(x.unsqueeze(1).shape, [2, 1, 3]);
    const t = T.zeros([2, 3, 4, 5]);
    assertShape(t.flatten().shape, [120]);
    assertShape(t.flatten(1).shape, [2, 60]);
    assertShape(t.flatten(1, 2).shape, [2, 12, 5]);
    assertShape(T.tensor(3).flatten().shape, [1]);
    assert.deepEqual(arr(x.T.flatten()), [1, 4, 2, 5, 3, 6]);
  });

  test('select and narrow', () => {
    assert.deepEqual(x.select(1, -1).arraySync(), [3, 6]);
    assert.deepEqual(x.select(0, 0).arraySync(), [1, 2, 3]);
    assert.deepEqual(x.narrow(1, 1, 2).arraySync(), [
      [2, 3],
      [5, 6],
    ]);
  });
});

describe('reductions and composites', () => {
  const m = T.tensor(
    [
      [3, -1, 7, 7],
      [0, 5, -2, 4],
      [9, 9, 1, -6],
    ],
    f64,
  );

  test('argmax / argmin along an axis and over everything (first index on ties)', () => {
    assert.deepEqual(arr(m.argmax(1)), [2, 1, 0]);
    assert.deepEqual(arr(m.argmin(1)), [1, 2, 3]);
    assert.deepEqual(arr(m.argmax(0)), [2, 2, 0, 0]);
    assert.deepEqual(arr(m.argmin(0)), [1, 0, 1, 2]);
    assert.equal(m.argmax().itemSync(), 8);
    assert.equal(m.argmin().itemSync(), 11);
    assertShape(m.argmax(1, true).shape, [3, 1]);
    assert.equal(m.argmax(1).dtype, 'int32');
  });

  test('var: unbiased by default, correction 0 on request; std is its square root', () => {
    const rows = m.arraySync() as number[][];
    const expectVar = (v: number[], corr: number): number => {
      const mu = v.reduce((s, a) => s + a, 0) / v.length;
      return v.reduce((s, a) => s + (a - mu) ** 2, 0) / (v.length - corr);
    };
    assertClose(
      arr(m.var(1)),
      rows.map((r) => expectVar(r, 1)),
      1e-12,
      'var(1)',
    );
    assertClose(
      arr(m.var(1, { correction: 0 })),
      rows.map((r) => expectVar(r, 0)),
      1e-12,
      'var(1, correction 0)',
    );
    assertClose(
      arr(m.std(1)),
      rows.map((r) => Math.sqrt(expectVar(r, 1))),
      1e-12,
      'std(1)',
    );
    assertClose([m.var().itemSync()], [expectVar(rows.flat(), 1)], 1e-12, 'var()');
    assertShape(m.var(0, { keepDims: true }).shape, [1, 4]);
  });

  test('logSumExp stays finite for huge values', () => {
    const big = T.tensor([1000, 1000, 999], f64);
    assertClose([big.logSumExp().itemSync()], [1000 + Math.log(2 + Math.exp(-1))], 1e-12);
    const neg = T.tensor([[-1000, -1001]], f64);
    assertClose(arr(neg.logSumExp(1)), [-1000 + Math.log(1 + Math.exp(-1))], 1e-12);
    const f32 = T.tensor([1000, 1000]).logSumExp();
    assert.ok(Number.isFinite(f32.itemSync()));
    assertClose([f32.itemSync()], [1000 + Math.LN2], 1e-6);
    assert.equal(T.tensor([-Infinity, -Infinity]).logSumExp().itemSync(), -Infinity);
  });

  test('logSumExp gradient at huge values is the softmax', () => {
    const x = T.tensor([1000, 999, -1000], { ...f64, requiresGrad: true });
    x.logSumExp().backward();
    const z = 1 + Math.exp(-1);
    assertClose(arr(x.grad!), [1 / z, Math.exp(-1) / z, 0], 1e-12);
  });

  test('softmax rows sum to 1, even for huge values', () => {
    const x = T.tensor(
      [
        [1, 2, 3],
        [1000, 1000, 1000],
        [-1000, 0, 1000],
      ],
      f64,
    );
    const s = x.softmax(-1);
    const rows = s.arraySync() as number[][];
    for (const r of rows) assertClose([r.reduce((a, b) => a + b, 0)], [1], 1e-12, 'row sum');
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const z = e[0]! + e[1]! + e[2]!;
    assertClose(
      rows[0]!,
      e.map((v) => v / z),
      1e-12,
      'row 0',
    );
    assertClose(rows[1]!, [1 / 3, 1 / 3, 1 / 3], 1e-12, 'row 1');
    assertClose(rows[2]!, [0, 0, 1], 1e-12, 'row 2');
    const cols = x.softmax(0).sum(0);
    assertClose(arr(cols), [1, 1, 1], 1e-12, 'softmax(0) columns');
  });

  test('oneHot of int32 labels', () => {
    const o = T.oneHot(
      T.tensor(
        [
          [2, 0],
          [1, 3],
        ],
        { dtype: 'int32' },
      ),
      4,
    );
    assert.equal(o.dtype, 'float32');
    assertShape(o.shape, [2, 2, 4]);
    assert.deepEqual(o.arraySync(), [
      [
        [0, 0, 1, 0],
        [1, 0, 0, 0],
      ],
      [
        [0, 1, 0, 0],
        [0, 0, 0, 1],
      ],
    ]);
    assert.equal(T.oneHot(T.tensor([1], { dtype: 'int32' }), 2, 'float64').dtype, 'float64');
  });

  test('where with bool and non-bool conditions, tensors and numbers', () => {
    const a = T.tensor([1, 2, 3, 4]);
    const b = T.tensor([-1, -2, -3, -4]);
    assert.deepEqual(arr(T.where(T.tensor([true, false, false, true]), a, b)), [1, -2, -3, 4]);
    assert.deepEqual(arr(T.where(T.tensor([0, 2, 0, -1]), a, b)), [-1, 2, -3, 4]);
    assert.deepEqual(arr(T.where(a.gt(2), a, 0)), [0, 0, 3, 4]);
    assert.deepEqual(T.where(T.tensor([[true], [false]]), 1, b).arraySync(), [
      [1, 1, 1, 1],
      [-1, -2, -3, -4],
    ]);
  });

  test('clamp with min, max and both', () => {
    const x = T.tensor([-3, -0.5, 0, 0.5, 3]);
    assert.deepEqual(arr(x.clamp(-1, 1)), [-1, -0.5, 0, 0.5, 1]);
    assert.deepEqual(arr(x.clamp(0)), [0, 0, 0, 0.5, 3]);
    assert.deepEqual(arr(x.clamp(undefined, 0)), [-3, -0.5, 0, 0, 0]);
    assert.equal(T.clamp(T.tensor([5, -5], { dtype: 'int32' }), -2, 2).dtype, 'int32');
  });
});

describe('matmul shapes against a naive loop', () => {
  const g = new Generator(31);
  const cases: [number[], number[], number[]][] = [
    [[4], [4], []],
    [[4], [4, 3], [3]],
    [[3, 4], [4], [3]],
    [[2, 3, 4], [4], [2, 3]],
    [[4], [2, 4, 5], [2, 5]],
    [
      [3, 4],
      [4, 2],
      [3, 2],
    ],
    [
      [2, 1, 3, 4],
      [5, 4, 2],
      [2, 5, 3, 2],
    ],
    [
      [1, 3, 4],
      [2, 1, 4, 2],
      [2, 1, 3, 2],
    ],
  ];
  for (const [as, bs, out] of cases) {
    test(`[${as}] @ [${bs}] -> [${out}]`, () => {
      const aNd = N.randnNd(g, as);
      const bNd = N.randnNd(g, bs);
      const a = T.tensor(Float64Array.from(aNd.data), { shape: as, ...f64 });
      const b = T.tensor(Float64Array.from(bNd.data), { shape: bs, ...f64 });
      const y = a.matmul(b);
      assertShape(y.shape, out);
      // Independent loop: out[..batch, i, j] = Σ_t A[..batch', i, t] · B[..batch'', t, j] with broadcast batch.
      const A = as.length === 1 ? N.nd([1, as[0]!], aNd.data) : aNd;
      const B = bs.length === 1 ? N.nd([bs[0]!, 1], bNd.data) : bNd;
      const m = A.shape[A.shape.length - 2]!;
      const k = A.shape[A.shape.length - 1]!;
      const n = B.shape[B.shape.length - 1]!;
      const batch = N.broadcastShape(A.shape.slice(0, -2), B.shape.slice(0, -2));
      const expected: number[] = [];
      N.forEachIndex(batch, (bi) => {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let t = 0; t < k; t++) s += N.bget(A, [...bi, i, t]) * N.bget(B, [...bi, t, j]);
            expected.push(s);
          }
        }
      });
      assertClose(arr(y), expected, 1e-12);
    });
  }

  test('gradients of a broadcast batched matmul sum over the broadcast batch', () => {
    const a = T.tensor(
      Float64Array.from({ length: 12 }, (_, i) => i / 10),
      {
        shape: [2, 1, 2, 3],
        ...f64,
        requiresGrad: true,
      },
    );
    const b = T.tensor(
      Float64Array.from({ length: 6 }, (_, i) => 1 - i / 5),
      { shape: [3, 2], ...f64, requiresGrad: true },
    );
    a.matmul(b).sum().backward();
    assertShape(a.grad!.shape, [2, 1, 2, 3]);
    assertShape(b.grad!.shape, [3, 2]);
    // d/dA Σ A·B = 1·Bᵀ (row sums of B), d/dB = Σ_batch Aᵀ·1 (column sums of every A row).
    const bRowSums = [0, 1, 2].map((t) => 1 - (2 * t) / 5 + (1 - (2 * t + 1) / 5));
    assertClose(
      arr(a.grad!),
      [0, 1, 2, 3].flatMap(() => bRowSums),
      1e-12,
      'grad a',
    );
    const aColSums = [0, 1, 2].map((t) => [0, 1, 2, 3].reduce((s, r) => s + (r * 3 + t) / 10, 0));
    assertClose(
      arr(b.grad!),
      aColSums.flatMap((v) => [v, v]),
      1e-12,
      'grad b',
    );
  });
});
