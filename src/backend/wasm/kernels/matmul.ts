/** Batched matmul: one gemmBatched call per lane, operands passed as their storage spans (no transpose copies). */
import type { EpilogueParams } from '../../../core/ops.js';
import type { CpuView } from '../../cpu/storage.js';
import { TILE } from '../kernels-abi.js';
import { lanesFor, matrixOperand, splitRange } from '../plan.js';
import type { Program } from '../pool.js';
import type { WasmRuntime } from '../runtime.js';
import { type FastKernel, bytes, dense, epilogueArgs, stage } from './common.js';

export const matmulFast: FastKernel<'matmul'> = (rt, inputs, out) => product(rt, inputs, out, null);

/** matmulBiasAct: each lane runs the epilogue (kernels.ts's biasActRows) on the block it has just computed. */
export const matmulBiasActFast: FastKernel<'matmulBiasAct'> = (rt, inputs, out, p) => product(rt, inputs, out, p);

function product(rt: WasmRuntime, inputs: readonly CpuView[], out: CpuView, epi: EpilogueParams | null): void {
  const [a, b] = inputs as [CpuView, CpuView];
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  const A = matrixOperand(a);
  const B = matrixOperand(b);
  const io = stage(rt, [
    { in: A.data },
    { in: B.data },
    { out: out.storage as Float32Array, length: batch * m * n },
    ...(epi ? [{ in: dense(inputs[2]!) }] : []),
  ]);
  const [pa, pb, pc, pbias] = io.ptrs;
  // Split over output columns or rows (as gemmPrograms does), each lane running the whole batch.
  const lanes = lanesFor(rt, batch * m * n * k);
  const byColumns = n >= m;
  const programs: Program[] = splitRange(byColumns ? n : m, lanes, byColumns ? TILE.NR : TILE.GMR).map(
    ([s, e], lane) => {
      const [aOff, bOff, cOff] = byColumns
        ? [0, bytes(s * (B.trans ? B.ld : 1)), bytes(s)]
        : [bytes(s * (A.trans ? 1 : A.ld)), 0, bytes(s * n)];
      const [mm, nn] = byColumns ? [m, e - s] : [e - s, n];
      const args = [batch, +A.trans, +B.trans, mm, nn, k, pa! + aOff, A.ld, A.batchStride, pb! + bOff, B.ld];
      const program: Program = [
        { fn: 'gemmBatched', args: [...args, B.batchStride, pc! + cOff, n, m * n, rt.gemmWorkFor(lane)] },
      ];
      if (epi) {
        // The lane's block: rows × columns [s, e) of every batch (byColumns), or rows [s, e) of each.
        const bias = pbias! + (byColumns ? bytes(s) : 0);
        if (byColumns)
          program.push({ fn: 'biasActRows', args: [pc! + cOff, batch * m, nn, n, bias, ...epilogueArgs(epi)] });
        else {
          for (let i = 0; i < batch; i++) {
            program.push({
              fn: 'biasActRows',
              args: [pc! + cOff + bytes(i * m * n), mm, n, n, bias, ...epilogueArgs(epi)],
            });
          }
        }
      }
      return program;
    },
  );
  rt.run(programs);
  io.finish();
}
