/**
 * What each layer prints (describe(), the line Sequential's toString and every error naming a
 * layer use): the constructor arguments that matter, PyTorch-style, and nothing for an option
 * left at its default. Written for mutation testing (npm run mutate): every option a layer shows
 * is set once to a non-default value and once left out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Concat,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  ELU,
  GroupNorm,
  InstanceNorm2d,
  LayerNorm,
  LeakyReLU,
  Linear,
  LocalResponseNorm,
  LogSoftmax,
  LSoftmaxLinear,
  MaxPool2d,
  Maxout,
  MaxoutLinear,
  PReLU,
  ReLU,
  RReLU,
  Residual,
  Softmax,
  StochasticPool2d,
  Upsample,
} from '../../src/index.js';

test('Conv2d prints channels, kernel and only the options that were given', () => {
  assert.equal(new Conv2d(3, 8, 3).describe(), 'Conv2d(3, 8, kernel=3x3)');
  assert.equal(new Conv2d(3, 8, [3, 5]).describe(), 'Conv2d(3, 8, kernel=3x5)');
  assert.equal(
    new Conv2d(4, 8, 3, { stride: 2, padding: 1, dilation: [2, 1], groups: 2, bias: false }).describe(),
    'Conv2d(4, 8, kernel=3x3, stride=2, padding=1, dilation=2,1, groups=2, bias=false)',
  );
  assert.equal(new Conv2d(3, 8, 3, 1, 'same').describe(), 'Conv2d(3, 8, kernel=3x3, stride=1, padding=same)');
  assert.equal(new Conv2d(3, 8, 3, { groups: 1, bias: true }).describe(), 'Conv2d(3, 8, kernel=3x3)');
});

test('ConvTranspose2d prints channels, kernel and only the options that were given', () => {
  assert.equal(new ConvTranspose2d(4, 2, 3).describe(), 'ConvTranspose2d(4, 2, kernel=3x3)');
  assert.equal(
    new ConvTranspose2d(4, 2, [4, 3], {
      stride: 2,
      padding: [1, 0],
      outputPadding: 1,
      dilation: 1,
      groups: 2,
      bias: false,
    }).describe(),
    'ConvTranspose2d(4, 2, kernel=4x3, stride=2, padding=1,0, outputPadding=1, dilation=1, groups=2, bias=false)',
  );
  assert.equal(new ConvTranspose2d(4, 2, 3, { groups: 1, bias: true }).describe(), 'ConvTranspose2d(4, 2, kernel=3x3)');
});

test('Linear, MaxoutLinear and LSoftmaxLinear print their sizes', () => {
  assert.equal(new Linear(5, 3).describe(), 'Linear(5, 3)');
  assert.equal(new Linear(5, 3, { bias: false }).describe(), 'Linear(5, 3, bias=false)');
  assert.equal(new MaxoutLinear(5, 3, 4).describe(), 'MaxoutLinear(5, 3, pieces=4)');
  assert.equal(new LSoftmaxLinear(6, 4, { margin: 3 }).describe(), 'LSoftmaxLinear(6, 4, margin=3)');
});

test('pooling layers print kernel and the options that were given', () => {
  assert.equal(new MaxPool2d(2).describe(), 'MaxPool2d(kernel=2)');
  assert.equal(
    new MaxPool2d([3, 2], { stride: 2, padding: 1, dilation: 1, ceilMode: true }).describe(),
    'MaxPool2d(kernel=3,2, stride=2, padding=1, dilation=1, ceilMode=true)',
  );
  assert.equal(new MaxPool2d(3, { ceilMode: false }).describe(), 'MaxPool2d(kernel=3)');
  assert.equal(new AvgPool2d(3, 2, 1).describe(), 'AvgPool2d(kernel=3, stride=2, padding=1)');
  assert.equal(new AvgPool2d(3, { countIncludePad: false }).describe(), 'AvgPool2d(kernel=3, countIncludePad=false)');
  assert.equal(new AvgPool2d(3, { countIncludePad: true }).describe(), 'AvgPool2d(kernel=3, countIncludePad=true)');
  assert.equal(new AdaptiveAvgPool2d([6, 5]).describe(), 'AdaptiveAvgPool2d(6,5)');
  assert.equal(new StochasticPool2d(3).describe(), 'StochasticPool2d(kernel=3x3, stride=3x3)');
  assert.equal(new StochasticPool2d([3, 2], { stride: 1 }).describe(), 'StochasticPool2d(kernel=3x2, stride=1x1)');
});

test('normalization layers print their sizes, eps, momentum and what is switched off', () => {
  assert.equal(new BatchNorm1d(7).describe(), 'BatchNorm1d(7, eps=0.00001, momentum=0.1)');
  assert.equal(
    new BatchNorm2d(3, { eps: 1e-3, momentum: null }).describe(),
    'BatchNorm2d(3, eps=0.001, momentum=null)',
  );
  assert.equal(new LayerNorm([4, 2]).describe(), 'LayerNorm([4, 2], eps=0.00001)');
  assert.equal(
    new LayerNorm(4, { eps: 1e-3, elementwiseAffine: false }).describe(),
    'LayerNorm([4], eps=0.001, elementwiseAffine=false)',
  );
  assert.equal(
    new InstanceNorm2d(3).describe(),
    'InstanceNorm2d(3, eps=0.00001, momentum=0.1, affine=false, trackRunningStats=false)',
  );
  assert.equal(
    new InstanceNorm2d(3, { eps: 1e-3, momentum: 0.3, affine: true, trackRunningStats: true }).describe(),
    'InstanceNorm2d(3, eps=0.001, momentum=0.3, affine=true, trackRunningStats=true)',
  );
  assert.equal(new GroupNorm(2, 6).describe(), 'GroupNorm(2, 6, eps=0.00001)');
  assert.equal(new GroupNorm(3, 6, { eps: 0.01, affine: false }).describe(), 'GroupNorm(3, 6, eps=0.01, affine=false)');
  assert.equal(new LocalResponseNorm(5).describe(), 'LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=1)');
  assert.equal(
    new LocalResponseNorm(3, { convention: 'paper' }).describe(),
    'LocalResponseNorm(3, alpha=0.0001, beta=0.75, k=2, convention=paper)',
  );
  assert.equal(
    new LocalResponseNorm(3, { alpha: 0.5, beta: 0.25, k: 3, convention: 'pytorch' }).describe(),
    'LocalResponseNorm(3, alpha=0.5, beta=0.25, k=3)',
  );
});

test('activations print their constants, with the defaults PyTorch uses', () => {
  assert.equal(new ReLU().describe(), 'ReLU()');
  assert.equal(new LeakyReLU().describe(), 'LeakyReLU(negativeSlope=0.01)');
  assert.equal(new LeakyReLU(0.2).describe(), 'LeakyReLU(negativeSlope=0.2)');
  assert.equal(new ELU().describe(), 'ELU(alpha=1)');
  assert.equal(new ELU(0.5).describe(), 'ELU(alpha=0.5)');
  assert.equal(new Softmax().describe(), 'Softmax(axis=-1)');
  assert.equal(new Softmax(1).describe(), 'Softmax(axis=1)');
  assert.equal(new LogSoftmax().describe(), 'LogSoftmax(axis=-1)');
  assert.equal(new LogSoftmax(0).describe(), 'LogSoftmax(axis=0)');
  assert.equal(new PReLU().describe(), 'PReLU(numParameters=1)');
  assert.equal(new PReLU({ numParameters: 4 }).describe(), 'PReLU(numParameters=4)');
  assert.equal(new RReLU().describe(), `RReLU(lower=${1 / 8}, upper=${1 / 3})`);
  assert.equal(new RReLU({ lower: 0.1, upper: 0.2 }).describe(), 'RReLU(lower=0.1, upper=0.2)');
  assert.equal(new Maxout({ pieces: 3 }).describe(), 'Maxout(pieces=3, axis=1)');
  assert.equal(new Maxout({ pieces: 2, axis: -1 }).describe(), 'Maxout(pieces=2, axis=-1)');
});

test('Dropout, Upsample, Residual and Concat print what they were built with', () => {
  assert.equal(new Dropout().describe(), 'Dropout(p=0.5)');
  assert.equal(new Dropout(0.2).describe(), 'Dropout(p=0.2)');
  assert.equal(new Upsample({ scaleFactor: 2 }).describe(), 'Upsample(scaleFactor=2, mode=nearest)');
  assert.equal(new Upsample({ size: [4, 6], mode: 'bilinear' }).describe(), 'Upsample(size=4,6, mode=bilinear)');
  assert.equal(new Residual(new ReLU()).describe(), 'Residual(identity shortcut)');
  assert.equal(new Residual(new ReLU(), new ReLU()).describe(), 'Residual()');
  assert.equal(new Concat([new ReLU()]).describe(), 'Concat(axis=1)');
  assert.equal(new Concat([new ReLU()], -1).describe(), 'Concat(axis=-1)');
});
