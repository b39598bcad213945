/**
 * Reading and writing ONNX's protobuf files through protobufjs (a maintained
 * protobuf library), loaded on first use so that `import 'tsgrad'` stays light.
 *
 * The schema below is the subset of ONNX's published `onnx.proto` (IR version 8,
 * opsets 13+) that CNN models use, written as a protobufjs JSON descriptor: the
 * field numbers are the wire format, and fields a file has beyond this subset are
 * skipped by the decoder as protobuf intends.
 */
import { DataFileError } from '../core/errors.js';

// ------------------------------------------------------------------ the decoded shapes we use

/** An int64 as protobufjs gives it: a number or a Long-like object. */
export type Int64 = number | { toNumber(): number };

export interface OnnxTensorProto {
  dims: Int64[];
  dataType: number;
  floatData: number[];
  int32Data: number[];
  int64Data: Int64[];
  doubleData: number[];
  name: string;
  rawData: Uint8Array;
  dataLocation?: number;
}

export interface OnnxAttributeProto {
  name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t?: OnnxTensorProto | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
}

export interface OnnxNodeProto {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: OnnxAttributeProto[];
}

export interface OnnxDimension {
  dimValue?: Int64 | null;
  dimParam?: string | null;
}

export interface OnnxValueInfoProto {
  name: string;
  type?: { tensorType?: { elemType: number; shape?: { dim: OnnxDimension[] } | null } | null } | null;
}

export interface OnnxGraphProto {
  node: OnnxNodeProto[];
  name: string;
  initializer: OnnxTensorProto[];
  input: OnnxValueInfoProto[];
  output: OnnxValueInfoProto[];
  valueInfo: OnnxValueInfoProto[];
}

export interface OnnxModelProto {
  irVersion: Int64;
  opsetImport: { domain: string; version: Int64 }[];
  producerName: string;
  producerVersion: string;
  docString: string;
  graph?: OnnxGraphProto | null;
  metadataProps: { key: string; value: string }[];
}

/** ONNX TensorProto.DataType codes tsgrad reads or writes. */
export const ONNX_DTYPE = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** ONNX AttributeProto.AttributeType codes. */
export const ONNX_ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export function int64ToNumber(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

// ------------------------------------------------------------------ the schema

const r = (type: string, id: number) => ({ rule: 'repeated', type, id });
const packed = (type: string, id: number) => ({ rule: 'repeated', type, id, options: { packed: true } });
const o = (type: string, id: number) => ({ type, id });

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: o('string', 1),
            refAttrName: o('string', 21),
            docString: o('string', 13),
            type: o('int32', 20),
            f: o('float', 2),
            i: o('int64', 3),
            s: o('bytes', 4),
            t: o('TensorProto', 5),
            g: o('GraphProto', 6),
            floats: r('float', 7),
            ints: r('int64', 8),
            strings: r('bytes', 9),
            tensors: r('TensorProto', 10),
            graphs: r('GraphProto', 11),
          },
        },
        ValueInfoProto: {
          fields: { name: o('string', 1), type: o('TypeProto', 2), docString: o('string', 3) },
        },
        NodeProto: {
          fields: {
            input: r('string', 1),
            output: r('string', 2),
            name: o('string', 3),
            opType: o('string', 4),
            domain: o('string', 7),
            attribute: r('AttributeProto', 5),
            docString: o('string', 6),
          },
        },
        ModelProto: {
          fields: {
            irVersion: o('int64', 1),
            opsetImport: r('OperatorSetIdProto', 8),
            producerName: o('string', 2),
            producerVersion: o('string', 3),
            domain: o('string', 4),
            modelVersion: o('int64', 5),
            docString: o('string', 6),
            graph: o('GraphProto', 7),
            metadataProps: r('StringStringEntryProto', 14),
          },
        },
        StringStringEntryProto: { fields: { key: o('string', 1), value: o('string', 2) } },
        GraphProto: {
          fields: {
            node: r('NodeProto', 1),
            name: o('string', 2),
            initializer: r('TensorProto', 5),
            docString: o('string', 10),
            input: r('ValueInfoProto', 11),
            output: r('ValueInfoProto', 12),
            valueInfo: r('ValueInfoProto', 13),
          },
        },
        TensorProto: {
          fields: {
            dims: r('int64', 1),
            dataType: o('int32', 2),
            floatData: packed('float', 4),
            int32Data: packed('int32', 5),
            stringData: r('bytes', 6),
            int64Data: packed('int64', 7),
            name: o('string', 8),
            docString: o('string', 12),
            rawData: o('bytes', 9),
            externalData: r('StringStringEntryProto', 13),
            dataLocation: o('int32', 14),
            doubleData: packed('double', 10),
            uint64Data: packed('uint64', 11),
          },
        },
        TensorShapeProto: {
          fields: { dim: r('Dimension', 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: o('int64', 1), dimParam: o('string', 2), denotation: o('string', 3) },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: { tensorType: o('Tensor', 1), denotation: o('string', 6) },
          nested: {
            Tensor: { fields: { elemType: o('int32', 1), shape: o('TensorShapeProto', 2) } },
          },
        },
        OperatorSetIdProto: { fields: { domain: o('string', 1), version: o('int64', 2) } },
      },
    },
  },
};

interface ProtoType {
  decode(bytes: Uint8Array): unknown;
  encode(message: unknown): { finish(): Uint8Array };
  fromObject(o: unknown): unknown;
  verify(o: unknown): string | null;
}

let modelType: Promise<ProtoType> | null = null;

/** The ModelProto message type, built once on first use. */
function loadModelType(): Promise<ProtoType> {
  modelType ??= import('protobufjs/light.js').then((mod) => {
    const protobuf = (mod as unknown as { default: typeof import('protobufjs/light.js') }).default ?? mod;
    const root = protobuf.Root.fromJSON(SCHEMA as never);
    return root.lookupType('onnx.ModelProto') as unknown as ProtoType;
  });
  return modelType;
}

/**
 * Decodes an ONNX model file. A truncated or malformed file gives a
 * DataFileError naming `file` and what the decoder found wrong.
 */
export async function decodeModel(bytes: Uint8Array, file: string): Promise<OnnxModelProto> {
  const type = await loadModelType();
  if (bytes.length === 0) throw new DataFileError(file, 'is empty, not an ONNX model');
  let decoded: unknown;
  try {
    decoded = type.decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new DataFileError(file, `is not a valid ONNX protobuf (truncated or corrupt): ${why}`);
  }
  return decoded as OnnxModelProto;
}

/** Encodes a model (plain object with the schema's camelCase field names) to bytes. */
export async function encodeModel(model: unknown): Promise<Uint8Array> {
  const type = await loadModelType();
  return type.encode(type.fromObject(model)).finish();
}
