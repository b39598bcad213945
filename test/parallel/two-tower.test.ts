/**
 * AlexNet's two towers on two devices: forward and backward match the single-device model
 * (with the paper's per-tower LRN) within 1e-5, and activations cross between the devices
 * only where the paper's towers connect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArgumentError,
  SGD,
  TwoTowerAlexNet,
  crossEntropy,
  fromArray,
  listBackends,
  manualSeed,
  perTowerLrn,
  randn,
  transferLog,
  type Tensor,
} from '../../src/index.js';
import { alexnet } from '../../src/models/index.js';

const DEVICE = listBackends().includes('wasm') ? 'wasm' : 'cpu';

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The towers' gradients joined under AlexNetPaper's names (tower 0's rows first). */
function towerGrads(net: TwoTowerAlexNet): Map<string, Float32Array> {
  const byName = new Map(net.namedParameters());
  const out = new Map<string, Float32Array>();
  const sd = net.stateDict();
  for (const name of Object.keys(sd)) {
    const parts = [...byName.entries()].filter(([n]) => n.endsWith(mapName(name)));
    const halves = parts.map(([, p]) => p.grad!.dataSync() as Float32Array);
    const joined = new Float32Array(halves.reduce((n, h) => n + h.length, 0));
    let off = 0;
    for (const h of halves) {
      joined.set(h, off);
      off += h.length;
    }
    out.set(name, joined);
  }
  return out;
}
const NAMES: Record<string, string> = {
  'features.0': 'stem.0',
  'features.4': 'stem.4',
  'features.8': 'middle.0',
  'features.10': 'middle.2',
  'features.12': 'middle.4',
  'classifier.0': 'fc6.0',
  'classifier.3': 'fc7.0',
  'classifier.6': 'fc8',
};
function mapName(paper: string): string {
  const dot = paper.lastIndexOf('.');
  return `.${NAMES[paper.slice(0, dot)]}.${paper.slice(dot + 1)}`;
}

test(`two towers on ${DEVICE}:0 / ${DEVICE}:1 match the single-device model within 1e-5, crossing only at conv3, fc6, fc7, fc8`, () => {
  manualSeed(7);
  const single = perTowerLrn(alexnet({ variant: 'paper', numClasses: 10, dropout: 0 }));
  const towers = new TwoTowerAlexNet(single, { placement: [`${DEVICE}:0`, `${DEVICE}:1`] });
  assert.notEqual(towers.devices[0], towers.devices[1]);
  // Every parameter lives on its tower's device.
  towers.towers.forEach((t, i) => t.parameters().forEach((p) => assert.equal(p.backend, towers.devices[i])));
  assert.deepEqual(Object.keys(towers.stateDict()).sort(), Object.keys(single.stateDict()).sort());
  const x = randn([2, 3, 227, 227]);
  const y = fromArray(Int32Array.from([3, 8]), [2]);
  const lossSingle = crossEntropy(single.forward(x), y);
  lossSingle.backward();
  transferLog.clear();
  const out = towers.forward(x);
  const lossTowers = crossEntropy(out, y);
  lossTowers.backward();
  assert.ok(
    Math.abs(lossTowers.itemSync() - lossSingle.itemSync()) < 1e-5,
    `loss ${lossTowers.itemSync()} vs ${lossSingle.itemSync()}`,
  );
  const grads = towerGrads(towers);
  for (const [name, p] of single.namedParameters()) {
    const d = maxAbs(grads.get(name)!, p.grad!.dataSync());
    assert.ok(d < 1e-5, `${name}: gradient differs by ${d}`);
    assert.ok(
      p.grad!.dataSync().some((v) => v !== 0),
      `${name}: zero gradient`,
    );
  }
  // Forward: each tower's conv3, fc6, fc7 and fc8 input takes the other tower's half (`maps`), the image
  // goes to tower 1 and its logits come back; backward carries each of those gradients back once.
  const a = towers.devices[0].name;
  const b = towers.devices[1].name;
  const bytes = (n: number): number => n * 2 * 4; // 2 samples, float32
  const maps = 128 * 13 * 13 + 128 * 6 * 6 + 2048 + 2048; // one tower's share at each connection, per sample
  assert.equal(transferLog.get(`${a}->${b}`), bytes(3 * 227 * 227 + maps + maps + 5 /* logits' gradient */));
  assert.equal(transferLog.get(`${b}->${a}`), bytes(maps + 5 /* logits */ + maps));
  assert.deepEqual([...transferLog.keys()].sort(), [`${a}->${b}`, `${b}->${a}`].sort());
  // One optimizer step works across the two devices.
  new SGD(towers.parameters(), { lr: 0.01 }).step();
});

test('two towers need two devices and the paper input size', () => {
  const net = alexnet({ variant: 'paper', numClasses: 4 });
  assert.throws(() => new TwoTowerAlexNet(net, { placement: ['cpu:1', 'cpu:1'] }), ArgumentError);
  const towers = new TwoTowerAlexNet(net, { placement: ['cpu:0', 'cpu:1'] });
  assert.throws(() => towers.forward(randn([1, 3, 64, 64]) as Tensor), /227/);
});
