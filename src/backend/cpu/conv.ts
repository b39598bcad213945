import type { TypedArray } from '../../core/dtype.js';
import { type Conv2dParams, type ConvGeometry, type OpParams, convGeometry } from '../../core/ops.js';
import { type CpuView, denseData } from './storage.js';
import { gemm } from './gemm.js';

/**
 * Convolution as matrix products (im2col): each sample's receptive fields
 * are unrolled into a [Cin/g·kH·kW, Hout·Wout] matrix, so the forward pass
 * and both gradients are one GEMM per sample and group.
 */
function im2col(
  x: TypedArray,
  xOff: number,
  channels: number,
  g: ConvGeometry,
  p: Conv2dParams,
  cols: TypedArray,
): void {
  const { h, w, kh, kw, hOut, wOut } = g;
  const [sh, sw] = p.stride;
  const [dh, dw] = p.dilation;
  const pt = p.padding[0];
  const pl = p.padding[2];
  const hw = hOut * wOut;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row++) {
        const base = row * hw;
        for (let oh = 0; oh < hOut; oh++) {
          const ih = oh * sh - pt + ki * dh;
          const o = base + oh * wOut;
          if (ih < 0 || ih >= h) {
            cols.fill(0, o, o + wOut);
            continue;
          }
          const xr = xc + ih * w;
          for (let ow = 0; ow < wOut; ow++) {
            const iw = ow * sw - pl + kj * dw;
            cols[o + ow] = iw >= 0 && iw < w ? x[xr + iw]! : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: adds each column entry back onto the input position it came from. */
function col2im(
  cols: TypedArray,
  channels: number,
  g: ConvGeometry,
  p: Conv2dParams,
  dx: TypedArray,
  dxOff: number,
): void {
  const { h, w, kh, kw, hOut, wOut } = g;
  const [sh, sw] = p.stride;
  const [dh, dw] = p.dilation;
  const pt = p.padding[0];
  const pl = p.padding[2];
  const hw = hOut * wOut;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const xc = dxOff + c * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row++) {
        const base = row * hw;
        for (let oh = 0; oh < hOut; oh++) {
          const ih = oh * sh - pt + ki * dh;
          if (ih < 0 || ih >= h) continue;
          const o = base + oh * wOut;
          const xr = xc + ih * w;
          for (let ow = 0; ow < wOut; ow++) {
            const iw = ow * sw - pl + kj * dw;
            if (iw >= 0 && iw < w) dx[xr + iw]! += cols[o + ow]!;
          }
        }
      }
    }
  }
}

/** A 1×1, stride-1, unpadded convolution reads the input itself as its column matrix. */
function isPointwise(g: ConvGeometry, p: Conv2dParams): boolean {
  return g.kh === 1 && g.kw === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.padding.every((v) => v === 0);
}

function scratch(like: TypedArray, size: number): TypedArray {
  return new (like.constructor as new (n: number) => TypedArray)(size);
}

export function conv2dKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['conv2d']): void {
  const [xv, wv] = inputs as [CpuView, CpuView];
  const g = convGeometry(xv.shape, wv.shape, p);
  const x = denseData(xv);
  const wt = denseData(wv);
  const y = out.storage;
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const pointwise = isPointwise(g, p);
  const cols = pointwise ? x : scratch(x, ckk * hw);
  for (let n = 0; n < g.n; n++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const xOff = (n * g.cIn + gr * g.cInPerGroup) * g.h * g.w;
      if (!pointwise) im2col(x, xOff, g.cInPerGroup, g, p, cols);
      const yOff = (n * g.cOut + gr * g.cOutPerGroup) * hw;
      gemm(
        false,
        false,
        g.cOutPerGroup,
        hw,
        ckk,
        wt,
        gr * g.cOutPerGroup * ckk,
        ckk,
        cols,
        pointwise ? xOff : 0,
        hw,
        y,
        yOff,
        hw,
        false,
      );
    }
  }
}

export function conv2dGradInputKernel(inputs: readonly CpuView[], out: CpuView, p: OpParams['conv2dGradInput']): void {
  const [dyv, wv] = inputs as [CpuView, CpuView];
  const g = convGeometry(p.inputShape, wv.shape, p, 'conv2dGradInput');
  const dy = denseData(dyv);
  const wt = denseData(wv);
  // The output may come uninitialised (OpDef.writesAll): col2im adds into it.
  const dx = out.storage.fill(0);
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const pointwise = isPointwise(g, p);
  const cols = pointwise ? dx : scratch(dy, ckk * hw);
  for (let n = 0; n < g.n; n++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const dyOff = (n * g.cOut + gr * g.cOutPerGroup) * hw;
      const dxOff = (n * g.cIn + gr * g.cInPerGroup) * g.h * g.w;
      // cols = W_gᵀ · dy_g
      gemm(
        true,
        false,
        ckk,
        hw,
        g.cOutPerGroup,
        wt,
        gr * g.cOutPerGroup * ckk,
        ckk,
        dy,
        dyOff,
        hw,
        cols,
        pointwise ? dxOff : 0,
        hw,
        false,
      );
      if (!pointwise) col2im(cols, g.cInPerGroup, g, p, dx, dxOff);
    }
  }
}

export function conv2dGradWeightKernel(
  inputs: readonly CpuView[],
  out: CpuView,
  p: OpParams['conv2dGradWeight'],
): void {
  const [xv, dyv] = inputs as [CpuView, CpuView];
  const g = convGeometry(xv.shape, p.weightShape, p, 'conv2dGradWeight');
  const x = denseData(xv);
  const dy = denseData(dyv);
  // The output may come uninitialised (OpDef.writesAll): the GEMMs add into it.
  const dw = out.storage.fill(0);
  const hw = g.hOut * g.wOut;
  const ckk = g.cInPerGroup * g.kh * g.kw;
  const pointwise = isPointwise(g, p);
  const cols = pointwise ? x : scratch(x, ckk * hw);
  for (let n = 0; n < g.n; n++) {
    for (let gr = 0; gr < g.groups; gr++) {
      const xOff = (n * g.cIn + gr * g.cInPerGroup) * g.h * g.w;
      if (!pointwise) im2col(x, xOff, g.cInPerGroup, g, p, cols);
      const dyOff = (n * g.cOut + gr * g.cOutPerGroup) * hw;
      // dW_g += dy_g · colsᵀ
      gemm(
        false,
        true,
        g.cOutPerGroup,
        ckk,
        hw,
        dy,
        dyOff,
        hw,
        cols,
        pointwise ? xOff : 0,
        hw,
        dw,
        gr * g.cOutPerGroup * ckk,
        ckk,
        true,
      );
    }
  }
}
