/** Paths and typed views of the prompt-to-image goldens under test/fixtures/pipeline (tools/reference/make_pipeline_fixtures.py). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PIPELINE_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pipeline');

export function pipelineFixture(relative: string): string {
  return join(PIPELINE_FIXTURES, relative);
}

export function readPipelineJson<T>(relative: string): T {
  return JSON.parse(readFileSync(pipelineFixture(relative), 'utf8')) as T;
}

export interface TokenizerSetting {
  name: string;
  folder: string;
  max_length: number;
  preprocessing: 'none' | 'lower-strip';
  used_by: string;
  pad_id: number;
  attention: number[];
  ids: number[][];
}

export interface TokenizerGoldens {
  corpus: string[];
  vocab: Record<string, number>;
  settings: TokenizerSetting[];
}

/** One prompt-to-image case of pipelines.json: the Diffusers call and the file holding its results. */
export interface PipelineCase {
  pipeline: string;
  case: string;
  file: string;
  prompt: string;
  negative_prompt: string | null;
  height: number;
  width: number;
  steps: number;
  guidance_scale: number;
  seed: number;
}

export function pipelineCases(): PipelineCase[] {
  return readPipelineJson<{ cases: PipelineCase[] }>('pipelines.json').cases;
}
