/**
 * What a denoise inputs file holds, read from its header alone (plus small id tensors a family asks
 * for), checked against the checkpoint by its family: every shape problem is found before a worker
 * starts or a weight is read, and the request's facts (batch, token rows, CFG) come out for the degree
 * checks. Its values are read once more for one thing only: a NaN or ±Infinity, which would run the whole
 * group to an all-NaN result.
 */
import type { Architecture, InputsCheck, InputsFileView } from '../families/index.js';
import { firstNonFiniteElement } from '../model-loader/finite-check.js';
import { SafetensorsFile } from '../native/index.js';

export type { InputsCheck } from '../families/index.js';

export function checkInputsFile(
  path: string,
  arch: Architecture,
  steps: number,
  guidanceScale: number,
): InputsCheck {
  const file = SafetensorsFile.open(path);
  try {
    const view: InputsFileView = {
      has: (name) => file.has(name),
      shape: (name) => (file.has(name) ? file.info(name).shape : undefined),
      readF32: (name) => {
        const t = file.read(name, { dtype: 'f32' });
        const values = t.toFloat32Array();
        t.release();
        return values;
      },
    };
    return arch.checkInputsFile(view, path, steps, guidanceScale);
  } finally {
    file.close();
  }
}

/** Each input tensor holding a NaN or ±Infinity, named with its first such element. */
export function nonFiniteInputs(path: string): string[] {
  const file = SafetensorsFile.open(path);
  try {
    return file.names().flatMap((name) => {
      const t = file.read(name, { dtype: 'f32' });
      try {
        const bad = firstNonFiniteElement(t);
        if (bad < 0) return [];
        return [`${name} element ${bad} is ${t.toFloat32Array()[bad]}: every input value must be finite`];
      } finally {
        t.release();
      }
    });
  } finally {
    file.close();
  }
}
