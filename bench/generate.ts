import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Seeded, reproducible test data for the bundle bench: the same seed gives the same bytes on
 * every machine, so sizes and ratios are comparable between runs.
 */

export const MiB = 1 << 20;

/** mulberry32: small, fast, good enough to make float weights look random to deflate. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with normal(0, std) floats (Box-Muller), like trained weights. */
function fillNormal(random: () => number, out: Float32Array, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = random() || Number.MIN_VALUE;
    const u2 = random();
    const radius = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = radius * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
}

/**
 * A safetensors file of float32 weights: 8-byte header length, JSON header, then tensors of
 * 1024 x 1024 (and one smaller) normal(0, 0.02) floats, `bytes` of tensor data in total.
 */
export async function writeSafetensors(file: string, bytes: number, seed: number): Promise<number> {
  const random = prng(seed);
  const row = 1024 * 4;
  const tensorBytes = 1024 * row;
  const tensors: Array<{ name: string; rows: number }> = [];
  let remaining = Math.floor(bytes / row) * row;
  for (let index = 0; remaining > 0; index++) {
    const rows = Math.min(1024, remaining / row);
    tensors.push({ name: `layers.${index}.weight`, rows });
    remaining -= rows * row;
  }
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const tensor of tensors) {
    header[tensor.name] = {
      dtype: 'F32',
      shape: [tensor.rows, 1024],
      data_offsets: [offset, offset + tensor.rows * row],
    };
    offset += tensor.rows * row;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));

  const handle = await fs.open(file, 'w');
  try {
    await handle.write(Buffer.concat([prefix, Buffer.from(json, 'utf8')]));
    const block = new Float32Array(tensorBytes / 4);
    for (const tensor of tensors) {
      const view = block.subarray(0, tensor.rows * 1024);
      fillNormal(random, view, 0.02);
      await handle.write(new Uint8Array(view.buffer, 0, view.byteLength));
    }
  } finally {
    await handle.close();
  }
  return (await fs.stat(file)).size;
}

function pickleHeader(name: string, dtype: string, count: number): Buffer {
  // The shape of a pickled numpy array (protocol 4): class path, dtype, shape, then raw bytes.
  return Buffer.from(
    `\x80\x04\x95cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85C\x01b\x87Rq\x02(K\x01M${count}` +
      `\x85cnumpy\ndtype\nq\x03X\x03\x00\x00\x00${dtype}K\x00K\x01\x87R(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89B${name}`,
    'latin1',
  );
}

/**
 * A pickle-like file of structured numeric arrays, the compressible part of a typical model
 * artifact (vocabularies, quantised tables, index offsets): int32 token ids with a skewed
 * distribution, float32 values on a 1/64 grid, increasing int64 offsets. Exactly `bytes` long.
 */
export async function writePickleLike(file: string, bytes: number, seed: number): Promise<number> {
  const random = prng(seed);
  const count = 1 << 18;
  const handle = await fs.open(file, 'w');
  let written = 0;
  try {
    for (let index = 0; written < bytes; index++) {
      let body: Buffer;
      let dtype: string;
      switch (index % 3) {
        case 0: {
          const ids = new Int32Array(count);
          for (let i = 0; i < count; i++) ids[i] = Math.floor(random() ** 3 * 30000);
          body = Buffer.from(ids.buffer);
          dtype = '<i4';
          break;
        }
        case 1: {
          const values = new Float32Array(count);
          for (let i = 0; i < count; i++) values[i] = Math.round((random() * 2 - 1) * 64) / 64;
          body = Buffer.from(values.buffer);
          dtype = '<f4';
          break;
        }
        default: {
          const offsets = new BigInt64Array(count / 2);
          let value = 0n;
          for (let i = 0; i < offsets.length; i++) {
            value += BigInt(1 + Math.floor(random() * 4));
            offsets[i] = value;
          }
          body = Buffer.from(offsets.buffer);
          dtype = '<i8';
        }
      }
      const chunk = Buffer.concat([pickleHeader(`array_${index}`, dtype, count), body]);
      const take = Math.min(chunk.length, bytes - written);
      await handle.write(chunk.subarray(0, take));
      written += take;
    }
  } finally {
    await handle.close();
  }
  return written;
}

export const HANDLER_SOURCE = `import json
import os
import pickle

MODEL_DIR = os.path.join(os.path.dirname(__file__), "model")


def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"ok": True, "files": sorted(os.listdir(MODEL_DIR))})}
`;

/** The bench workspace: handler + requirements at the root, model files under model/. */
export async function writeBenchWorkspace(
  root: string,
  weightsBytes: number,
  arraysBytes: number,
): Promise<void> {
  await fs.mkdir(path.join(root, 'model'), { recursive: true });
  await fs.writeFile(path.join(root, 'lambda_function.py'), HANDLER_SOURCE);
  await fs.writeFile(path.join(root, 'requirements.txt'), 'numpy==2.1.3\n');
  await writeSafetensors(path.join(root, 'model', 'weights.safetensors'), weightsBytes, 1);
  await writePickleLike(path.join(root, 'model', 'arrays.pkl'), arraysBytes, 2);
}
