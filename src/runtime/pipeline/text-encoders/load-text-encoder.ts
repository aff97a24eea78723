/**
 * A text encoder folder (`text_encoder`, `text_encoder_2`, …, as transformers saved it) → a ready
 * encoder, chosen by config.json's `architectures` and checked like the transformer (components/).
 */
import { CheckpointConfigError } from '../../checkpoint/config-fields.js';
import { TRANSFORMERS_WEIGHT_FILES } from '../../checkpoint/index.js';
import { loadComponent, readComponentConfig } from '../components/component-weights.js';
import { clipBlockCounts, clipCanonicalName, clipManifest, parseClipConfig } from './clip-config.js';
import { ClipTextModel } from './clip-text-model.js';
import { parseT5Config, t5BlockCounts, t5CanonicalName, t5Manifest } from './t5-config.js';
import { T5Encoder } from './t5-encoder.js';

export type TextEncoder = { kind: 't5'; model: T5Encoder } | { kind: 'clip'; model: ClipTextModel };

const SUPPORTED = ['T5EncoderModel', 'CLIPTextModel', 'CLIPTextModelWithProjection'];

export function loadTextEncoder(dir: string): TextEncoder {
  const config = readComponentConfig(dir);
  const architectures = config.raw.architectures;
  const className =
    Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : null;
  if (className === 'T5EncoderModel') {
    const { parsed, weights } = loadComponent(config, {
      files: TRANSFORMERS_WEIGHT_FILES,
      parse: parseT5Config,
      manifest: t5Manifest,
      blockCounts: t5BlockCounts,
      canonicalName: t5CanonicalName,
    });
    return { kind: 't5', model: new T5Encoder(parsed, weights) };
  }
  if (className === 'CLIPTextModel' || className === 'CLIPTextModelWithProjection') {
    const { parsed, weights } = loadComponent(config, {
      files: TRANSFORMERS_WEIGHT_FILES,
      parse: (c) => parseClipConfig(c, className),
      manifest: clipManifest,
      blockCounts: clipBlockCounts,
      canonicalName: clipCanonicalName,
    });
    return { kind: 'clip', model: new ClipTextModel(parsed, weights) };
  }
  throw new CheckpointConfigError(
    `${config.configFile}: "architectures" is ${JSON.stringify(architectures)}; supported text encoders: ${SUPPORTED.join(', ')}`,
  );
}
