// Probe for the Dawn "futex facility returned an unexpected error code" abort: runs GEMM rounds
// through the `webgpu` package (Dawn) and ends in one of several ways, to find the trigger.
// Usage: XDG_RUNTIME_DIR=/tmp node scripts/webgpu-probe.mjs [n=512] [rounds=4] [mode=clean] [full]
//   full: read back the whole n×n result each round (large mapped ranges), not 16 bytes
//   mode: clean      destroy every buffer and the device, drop the GPU object, then return
//         nodestroy  return with the device (and its buffers) still alive
//         pending    return while a mapAsync and onSubmittedWorkDone are still pending
//         exit       process.exit(0) right after the last read (device alive)
//         exitclean  destroy the device, then process.exit(0)
//         devices    create a fresh device per round, never destroying the old ones
//         busyexit   submit more GEMMs without waiting, then process.exit(0) while they run
//         busyend    submit more GEMMs without waiting and let the script end (device alive)
//         busyclean  submit more GEMMs, destroy the device without waiting, then end
//         busywait   submit more GEMMs, await onSubmittedWorkDone, destroy the device, end
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const [n = 512, rounds = 4] = process.argv.slice(2, 4).map(Number);
const mode = process.argv[4] ?? 'clean';
const readBytes = process.argv[5] === 'full' ? n * n * 4 : 16;
let gpu = create(['backend=vulkan']);

const wgsl = `
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> ta: array<f32, 256>;
var<workgroup> tb: array<f32, 256>;
@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let n = p.n;
  var acc = 0.0;
  for (var k0 = 0u; k0 < n; k0 += 16u) {
    ta[l.y * 16u + l.x] = a[g.y * n + k0 + l.x];
    tb[l.y * 16u + l.x] = b[(k0 + l.y) * n + g.x];
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) { acc += ta[l.y * 16u + k] * tb[k * 16u + l.x]; }
    workgroupBarrier();
  }
  c[g.y * n + g.x] = acc;
}`;

async function makeDevice() {
  const adapter = await gpu.requestAdapter();
  const device = await adapter.requestDevice();
  device.lost.then((i) => console.error('device lost:', i.reason, i.message));
  return { adapter, device };
}

let { adapter, device } = await makeDevice();
console.log('adapter', adapter.info?.device || adapter.info?.description, 'n', n, 'rounds', rounds, 'mode', mode);
const buffers = [];
let last;
for (let r = 0; r < rounds; r++) {
  if (mode === 'devices' && r > 0) ({ device } = await makeDevice());
  const bytes = n * n * 4;
  const mk = (usage) => {
    const b = device.createBuffer({ size: bytes, usage });
    buffers.push(b);
    return b;
  };
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const a = mk(S),
    b = mk(S),
    c = mk(S);
  const ones = new Float32Array(n * n).fill(1);
  device.queue.writeBuffer(a, 0, ones);
  device.queue.writeBuffer(b, 0, ones);
  const u = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  buffers.push(u);
  device.queue.writeBuffer(u, 0, new Uint32Array([n, 0, 0, 0]));
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: wgsl }), entryPoint: 'main' },
  });
  const bg = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [a, b, c, u].map((buffer, i) => ({ binding: i, resource: { buffer } })),
  });
  last = { pipeline, bg };
  const t0 = performance.now();
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(n / 16, n / 16);
  pass.end();
  const staging = device.createBuffer({ size: readBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  buffers.push(staging);
  enc.copyBufferToBuffer(c, 0, staging, 0, readBytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const v = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  const dt = (performance.now() - t0) / 1000;
  console.log(`round ${r}: c[0]=${v[0]} (expect ${n}) ${((2 * n ** 3) / dt / 1e9).toFixed(2)} GFLOP/s`);
}
if (mode.startsWith('busy')) {
  // The last round's pipeline and bind group again, several times, without waiting.
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(last.pipeline);
  pass.setBindGroup(0, last.bg);
  for (let i = 0; i < 4; i++) pass.dispatchWorkgroups(n / 16, n / 16);
  pass.end();
  device.queue.submit([enc.finish()]);
  console.log('submitted busy work');
  if (mode === 'busyexit') process.exit(0);
  if (mode === 'busywait') await device.queue.onSubmittedWorkDone();
  if (mode === 'busyclean' || mode === 'busywait') {
    for (const b of buffers) b.destroy();
    device.destroy();
    adapter = device = undefined;
    gpu = undefined;
  }
} else if (mode === 'pending') {
  const s = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  void s.mapAsync(GPUMapMode.READ);
  void device.queue.onSubmittedWorkDone();
} else if (mode === 'exit') {
  process.exit(0);
} else if (mode === 'clean' || mode === 'exitclean') {
  await device.queue.onSubmittedWorkDone();
  for (const b of buffers) b.destroy();
  device.destroy();
  adapter = device = undefined;
  gpu = undefined;
  if (mode === 'exitclean') process.exit(0);
}
console.log('end of script');
