/**
 * Options and helpers shared by the model zoo.
 */
import { ArgumentError } from '../core/errors.js';
import { BatchNorm2d, Conv2d, Linear, type Module, init } from '../nn/index.js';

/** Options every architecture in the zoo takes. */
export interface ModelOptions {
  /** Output classes (default 1000, ImageNet's). */
  numClasses?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /**
   * Adapt the stem to 32×32 images (CIFAR-style): a 3×3 stride-1 first convolution and no
   * early down-sampling, as the CIFAR versions of these networks do. Parameter names stay
   * those of the ImageNet model.
   */
  smallInput?: boolean;
}

export function positiveInt(model: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`${model}: ${name} must be a positive integer, got ${v}`);
  return v;
}

/** Resolved numClasses / inChannels / smallInput with validation. */
export function baseOptions(model: string, o: ModelOptions): Required<ModelOptions> {
  return {
    numClasses: positiveInt(model, 'numClasses', o.numClasses ?? 1000),
    inChannels: positiveInt(model, 'inChannels', o.inChannels ?? 3),
    smallInput: o.smallInput ?? false,
  };
}

/**
 * The initialization torchvision's ResNet, VGG and DenseNet use: He normal (fan out, ReLU)
 * for convolutions, ones and zeros for batch norm, zero biases.
 */
export function heInit(model: Module, linear: 'default' | 'normal0.01' | 'zeroBias' = 'default'): void {
  for (const [, m] of model.namedModules()) {
    if (m instanceof Conv2d) {
      init.kaimingNormal(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      if (m.bias) init.constant_(m.bias, 0);
    } else if (m instanceof BatchNorm2d) {
      if (m.weight) init.constant_(m.weight, 1);
      if (m.bias) init.constant_(m.bias, 0);
    } else if (m instanceof Linear && linear !== 'default') {
      if (linear === 'normal0.01') init.normal_(m.weight, 0, 0.01);
      if (m.bias) init.constant_(m.bias, 0);
    }
  }
}
