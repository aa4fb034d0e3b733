/**
 * Loads a model directory (model.json + weights.bin, docs/model-format.md) over HTTP with the
 * same parsing and building as Node's loadModel. The host files are kept so that the networks
 * can be rebuilt on another backend after a backend fails.
 */
import { MODEL_JSON, assembleModel, parseModelJson } from '../io/model-contents.js';
import { buildModel, modelFilesFromContents, type LoadedModel, type ModelFiles } from '../model/build-model.js';

async function fetchOk(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`cannot fetch ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!response.ok) throw new Error(`cannot fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

/** The model's tensors in host memory, checked against its index. */
export async function fetchModelFiles(baseUrl: string): Promise<ModelFiles> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const jsonUrl = base + MODEL_JSON;
  const index = parseModelJson(await (await fetchOk(jsonUrl)).text(), jsonUrl);
  const binUrl = base + index.weights.file;
  const weights = await (await fetchOk(binUrl)).arrayBuffer();
  return modelFilesFromContents(assembleModel(index, weights, binUrl), binUrl);
}

/** Builds the networks on the active tfjs backend. */
export function buildFetchedModel(files: ModelFiles, source: string): LoadedModel {
  return buildModel(files, source);
}
