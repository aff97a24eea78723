/**
 * The native safetensors reader behind the checkpoint check's `TensorSource`: each file is opened (and
 * its header validated) once, and the same handle later serves the tensor reads.
 */
import type { OpenTensorSource, TensorSource } from '../checkpoint/index.js';
import { SafetensorsFile } from '../native/index.js';

export class OpenedFiles {
  private readonly files = new Map<string, SafetensorsFile>();

  /** For `openTransformer`: header-only access to one file. */
  readonly open: OpenTensorSource = (path: string): TensorSource => {
    const file = this.file(path);
    return {
      names: () => file.names(),
      shape: (name) => file.info(name).shape,
      dtype: (name) => file.info(name).dtype,
    };
  };

  file(path: string): SafetensorsFile {
    let file = this.files.get(path);
    if (!file) {
      file = SafetensorsFile.open(path);
      this.files.set(path, file);
    }
    return file;
  }

  /** Unmaps every file (tensors already read are copies and stay valid). */
  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }
}
