import { ArgumentError } from '../core/errors.js';
import { type RgbaImage, blit, createImage, drawText, fillRect, textHeight, textWidth } from './image.js';

const INK: [number, number, number] = [33, 37, 41];

// matplotlib's "Blues" end points: white for no samples to dark blue for all of a row.
function blues(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  return [Math.round(247 + (8 - 247) * t), Math.round(251 + (48 - 251) * t), Math.round(255 + (107 - 255) * t)];
}

/** Text rotated a quarter turn counter-clockwise (reads bottom to top), for column labels. */
function verticalText(text: string, scale: number): RgbaImage {
  const w = Math.max(1, textWidth(text, scale));
  const h = textHeight(scale);
  const flat = createImage(w, h);
  drawText(flat, text, 0, 0, INK, scale);
  const out = createImage(h, w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 4;
      out.data.set(flat.data.subarray(s, s + 4), ((w - 1 - x) * h + y) * 4);
    }
  }
  return out;
}

/**
 * A confusion matrix (rows: true class, columns: predicted) as a heat map: each cell shaded
 * by its share of the row (the class's recall on the diagonal) and labelled with its count;
 * class labels on the left and, reading upwards, on top.
 * @example
 * const r = evaluate(model, testSet);
 * const img = confusionMatrixImage(r.confusion.matrix, MNIST_CLASSES);
 */
export function confusionMatrixImage(matrix: readonly (readonly number[])[], labels: readonly string[]): RgbaImage {
  const n = matrix.length;
  if (n === 0) throw new ArgumentError('confusionMatrixImage: empty matrix');
  if (matrix.some((row) => row.length !== n))
    throw new ArgumentError(`confusionMatrixImage: the matrix must be ${n}x${n}`);
  if (labels.length !== n) throw new ArgumentError(`confusionMatrixImage: ${labels.length} labels for ${n} classes`);
  if (matrix.some((row) => row.some((v) => !(Number.isFinite(v) && v >= 0)))) {
    throw new ArgumentError('confusionMatrixImage: counts must be finite and non-negative');
  }
  const scale = 2;
  const pad = 6;
  const maxCount = Math.max(...matrix.flat().map((v) => String(v).length));
  const cell = Math.max(24, textWidth('0'.repeat(maxCount), scale) + 8);
  const labelW = Math.max(...labels.map((l) => textWidth(l, scale)));
  const left = pad + labelW + pad;
  const top = pad + labelW + pad;
  const img = createImage(left + n * cell + pad, top + n * cell + pad);
  matrix.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    const y = top + t * cell;
    drawText(
      img,
      labels[t]!,
      left - pad - textWidth(labels[t]!, scale),
      y + (cell - textHeight(scale)) / 2,
      INK,
      scale,
    );
    row.forEach((count, p) => {
      const share = total ? count / total : 0;
      const x = left + p * cell;
      fillRect(img, x, y, cell - 1, cell - 1, blues(share));
      const s = String(count);
      drawText(
        img,
        s,
        x + Math.floor((cell - 1 - textWidth(s, scale)) / 2),
        y + Math.floor((cell - 1 - textHeight(scale)) / 2),
        share > 0.5 ? [255, 255, 255] : INK,
        scale,
      );
    });
  });
  labels.forEach((l, p) => {
    const v = verticalText(l, scale);
    blit(img, v, left + p * cell + Math.floor((cell - 1 - v.width) / 2), top - pad - v.height);
  });
  return img;
}
