/**
 * A tour of the classic CNN architectures in tsgrad's zoo, each with its summary (layers, output shapes,
 * parameters). Models are built with init.skipInit (no random initialization: only shapes and counts are
 * shown), and their summaries come from one forward pass of zeros. Small inputs where the architecture offers a
 * small-input stem (CIFAR-style 32×32), so the tour stays fast; the ImageNet parameter counts at 1000 classes
 * are printed for every model and checked against torchvision's (the paper's AlexNet: a count by hand).
 *
 * - LeNet-5 (LeCun et al., 1998): two convolution + subsampling stages and three fully connected layers.
 * - AlexNet (Krizhevsky et al., 2012): 11×11 stride-4 first layer, ReLU, overlapping 3/2 max-pooling, dropout;
 *   the paper's version (96-256-384-384-256 filters, the two GPUs' halves as groups: 2, local response
 *   normalization, 227×227 input) beside torchvision's single-tower one.
 * - VGG-16 (Simonyan & Zisserman, 2014): only 3×3 convolutions, stacked in five blocks.
 * - GoogLeNet (Szegedy et al., 2014): Inception modules, parallel 1×1 / 3×3 / 5×5 / pooling branches concatenated.
 * - ResNet (He et al., 2015): residual blocks y = F(x) + x; ResNet-50's bottlenecks 1×1 → 3×3 → 1×1.
 * - DenseNet-121 (Huang et al., 2016): each layer receives every earlier layer's feature maps in its block.
 */
import assert from 'node:assert/strict';
import {
  type Module,
  type Summary,
  type Tensor,
  featureMaps,
  init,
  models,
  noGrad,
  summary,
  zeros,
} from '../src/index.js';

type Net = Module & { forward(x: Tensor): Tensor };

interface Stop {
  name: string;
  build: (numClasses: number, small: boolean) => Net;
  /** The input of the tour's summary. */
  input: number[];
  small: boolean;
  classes: number;
  /** The full-size model's parameter count at 1000 classes (LeNet-5: at 10): torchvision's, or from the paper. */
  reference: number;
}

const tour: Stop[] = [
  {
    name: 'LeNet-5 (1998)',
    build: (n) => models.lenet5({ variant: 'classic', numClasses: n }),
    input: [1, 1, 32, 32],
    small: false,
    classes: 10,
    reference: 60_000,
  },
  {
    name: 'LeNet-5, modern (ReLU, max-pool)',
    build: (n) => models.lenet5({ numClasses: n }),
    input: [1, 1, 28, 28],
    small: false,
    classes: 10,
    reference: 61_706,
  },
  {
    name: 'AlexNet, the paper (2012)',
    build: (n) => models.alexnet({ variant: 'paper', numClasses: n }),
    input: [1, 3, 227, 227],
    small: false,
    classes: 1000,
    // From the layer shapes: conv1 96·3·11·11, conv2 256·48·5·5 (groups 2), conv3 384·256·3·3, conv4 384·192·3·3
    // and conv5 256·192·3·3 (groups 2), fc6 9216·4096, fc7 4096·4096, fc8 4096·1000, plus one bias per output.
    reference:
      96 * 3 * 121 +
      256 * 48 * 25 +
      384 * 256 * 9 +
      384 * 192 * 9 +
      256 * 192 * 9 +
      9216 * 4096 +
      4096 * 4096 +
      4096 * 1000 +
      (96 + 256 + 384 + 384 + 256 + 4096 + 4096 + 1000),
  },
  {
    name: 'AlexNet',
    build: (n) => models.alexnet({ numClasses: n }),
    input: [1, 3, 224, 224],
    small: false,
    classes: 1000,
    reference: 61_100_840,
  },
  {
    name: 'VGG-16',
    build: (n, s) => models.vgg16({ numClasses: n, smallInput: s }),
    input: [1, 3, 32, 32],
    small: true,
    classes: 10,
    reference: 138_357_544,
  },
  {
    name: 'GoogLeNet',
    build: (n, s) => models.googlenet({ numClasses: n, smallInput: s }),
    input: [1, 3, 32, 32],
    small: true,
    classes: 10,
    reference: 6_624_904,
  },
  {
    name: 'ResNet-18',
    build: (n) => models.resnet18({ numClasses: n }),
    input: [1, 3, 224, 224],
    small: false,
    classes: 1000,
    reference: 11_689_512,
  },
  {
    name: 'ResNet-50',
    build: (n, s) => models.resnet50({ numClasses: n, smallInput: s }),
    input: [1, 3, 32, 32],
    small: true,
    classes: 10,
    reference: 25_557_032,
  },
  {
    name: 'DenseNet-121',
    build: (n, s) => models.densenet121({ numClasses: n, smallInput: s }),
    input: [1, 3, 32, 32],
    small: true,
    classes: 10,
    reference: 7_978_856,
  },
];

/**
 * Long summaries are shown one row per block: the rows grouped by the first `depth` parts of their names, with
 * each block's output shape taken from the block itself (featureMaps: one forward pass, outputs by name).
 */
function condensed(net: Net, input: number[], s: Summary, depth: number): string {
  const groups = new Map<string, { layers: number; params: number }>();
  for (const r of s.rows) {
    const key = r.name.split('.').slice(0, depth).join('.');
    const g = groups.get(key) ?? { layers: 0, params: 0 };
    g.layers++;
    g.params += r.params;
    groups.set(key, g);
  }
  const maps = noGrad(() => featureMaps(net.eval(), zeros(input), [...groups.keys()]));
  const lines = [...groups].map(
    ([k, g]) =>
      `  ${`${k} (${g.layers} layer${g.layers > 1 ? 's' : ''})`.padEnd(34)} ${`[${maps[k]?.shape.join(', ') ?? '-'}]`.padEnd(18)} ${g.params.toLocaleString('en-US').padStart(11)}`,
  );
  return `${lines.join('\n')}\n  Total params: ${s.totalParams.toLocaleString('en-US')}`;
}

for (const stop of tour) {
  const net = init.skipInit(() => stop.build(stop.classes, stop.small));
  const s = summary(net, stop.input);
  console.log(`\n## ${stop.name}: input [${stop.input.join(', ')}], ${s.rows.length} layers`);
  if (s.rows.length <= 30) console.log(s.text);
  else console.log(condensed(net, stop.input, s, stop.name.startsWith('DenseNet') ? 2 : 1));

  // The summary's total is the model's parameter count, and the network maps the input to one score per class.
  assert.equal(s.totalParams, net.numParameters());
  assert.equal(
    s.rows.reduce((n, r) => n + r.params, 0),
    s.totalParams,
    'the rows add up to the total',
  );
  const out = noGrad(() => net.eval().forward(zeros(stop.input)));
  assert.deepEqual(out.shape, [1, stop.classes]);
  assert.deepEqual(s.rows.at(-1)!.outputShape, [1, stop.classes]);

  // The full-size model's parameter count (LeNet-5 at its 10 classes).
  const full =
    stop.classes === 10 && !stop.small
      ? net
      : init.skipInit(() => stop.build(stop.name.startsWith('LeNet') ? 10 : 1000, false));
  console.log(
    `${stop.name}: ${full.numParameters().toLocaleString('en-US')} parameters${stop.name.startsWith('LeNet') ? '' : ' at 1000 classes'}`,
  );
  assert.equal(full.numParameters(), stop.reference);
}
