import type { Tensor } from '../../tensor/tensor.js';
import { type Epilogue, elu, leakyRelu, logSoftmax, relu, sigmoid, softmax, tanh } from '../../tensor/ops.js';
import { Module } from '../module.js';

const RELU_EPILOGUE: Epilogue = { activation: 'relu' };

/** max(x, 0). */
export class ReLU extends Module {
  /** @internal What a Conv2d or Linear right before this layer in a Sequential applies in its own kernel instead. */
  get epilogue(): Epilogue {
    return RELU_EPILOGUE;
  }
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** x for x > 0, negativeSlope·x otherwise (default slope 0.01). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  /** @internal As ReLU's (conv2d and linearBiasAct run a negative slope apart themselves). */
  get epilogue(): Epilogue {
    return { activation: 'leakyRelu', negativeSlope: this.negativeSlope };
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
  protected override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** x for x > 0, alpha·(eˣ − 1) otherwise (default alpha 1). */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }
  protected override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** Softmax along `axis` (default the last). */
export class Softmax extends Module {
  constructor(readonly axis = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.axis);
  }
  protected override extraRepr(): string {
    return `axis=${this.axis}`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly axis = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return logSoftmax(x, this.axis);
  }
  protected override extraRepr(): string {
    return `axis=${this.axis}`;
  }
}
