/// <reference types="node" />
// The payloads against the JSON Schemas in glm_jupyter/schemas (the very files the Python
// package ships and its tests use), and model.ts's interfaces against the schemas' keys.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';

import {
  COMPACTION_KEYS,
  CONTEXT_ITEM_KEYS,
  footerText,
  IResponse,
  notebookTotals,
  RESPONSE_KEYS,
  RESPONSE_MIME,
  STEP_KEYS,
  STEP_MIME,
  TOOL_CALL_KEYS,
  TOOL_FUNCTION_KEYS,
  USAGE_KEYS
} from '../src/model';
import { response, step } from './payloads';

type Json = Record<string, any>;

const SCHEMAS = resolve(__dirname, '..', '..', 'glm_jupyter', 'schemas');
const FIXTURES = join(__dirname, 'fixtures');

function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, 'utf-8'));
}

const responseSchema = readJson(join(SCHEMAS, 'response.schema.json'));
const stepSchema = readJson(join(SCHEMAS, 'step.schema.json'));
const runSchema = readJson(join(SCHEMAS, 'run.schema.json'));

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
ajv.addSchema(stepSchema);
ajv.addSchema(responseSchema);
ajv.addSchema(runSchema);
const validateResponse = ajv.getSchema(responseSchema.$id) as ValidateFunction;
const validateStep = ajv.getSchema(stepSchema.$id) as ValidateFunction;
const validateRun = ajv.getSchema(runSchema.$id) as ValidateFunction;

/** Ajv's errors as short strings: none when `data` is valid. */
function errors(validate: ValidateFunction, data: unknown): string[] {
  return validate(data)
    ? []
    : (validate.errors ?? []).map(e => `${e.instancePath || '/'} ${e.message}`);
}

/** The fixtures python -m tests.make_payload_fixtures wrote, by name. */
function fixtures(prefix: 'response' | 'step' | 'run'): [string, Json][] {
  return readdirSync(FIXTURES)
    .filter(name => name.startsWith(`${prefix}-`) && name.endsWith('.json'))
    .sort()
    .map(name => [name, readJson(join(FIXTURES, name))]);
}

function sorted(keys: Iterable<string>): string[] {
  return [...keys].sort();
}

function requiredKeys(flags: Record<string, boolean>): string[] {
  return sorted(Object.keys(flags).filter(key => flags[key]));
}

describe('the schema files', () => {
  it('are draft 2020-12 and name their MIME types', () => {
    for (const schema of [responseSchema, stepSchema, runSchema]) {
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    }
    expect(responseSchema.description).toContain(RESPONSE_MIME);
    expect(stepSchema.description).toContain(STEP_MIME);
    expect(runSchema.description).toContain('application/vnd.glm.run+json');
  });
});

describe('payloads made by the Python package', () => {
  const responses = fixtures('response');
  const steps = fixtures('step');
  const runs = fixtures('run');

  it('are there for every reply status', () => {
    expect(new Set(responses.map(([, p]) => p.status))).toEqual(
      new Set(responseSchema.properties.status.enum)
    );
    expect(steps.length).toBeGreaterThan(0);
    expect(responses.some(([, p]) => Array.isArray(p.steps) && p.steps.length)).toBe(
      true
    );
  });

  it.each(responses)('%s validates against response.schema.json', (_, payload) => {
    expect(errors(validateResponse, payload)).toEqual([]);
  });

  it.each(steps)('%s validates against step.schema.json', (_, payload) => {
    expect(errors(validateStep, payload)).toEqual([]);
  });

  it.each(runs)('%s validates against run.schema.json', (_, payload) => {
    expect(errors(validateRun, payload)).toEqual([]);
  });

  it.each(responses)('%s has only keys model.ts knows', (_, payload) => {
    expect(Object.keys(payload).every(key => key in RESPONSE_KEYS)).toBe(true);
    expect(footerText(payload as IResponse)).toContain(payload.model);
  });

  it('sum up in the status bar', () => {
    const totals = notebookTotals(responses.map(([, p]) => p))!;
    expect(totals.responses).toBe(responses.length);
    expect(totals.tokens).toBeGreaterThan(0);
  });
});

describe('payloads the unit tests build', () => {
  it('validate', () => {
    const made = [
      response(),
      response({ cost_usd: 1.5, thinking_s: 0.8 }),
      response({ status: 'streaming', usage: null, cost_usd: null, simulator: true }),
      response({
        status: 'error',
        error: 'HTTP 500',
        finish_reason: null,
        context: [{ name: 'df', tokens: 120, brief: 'df: DataFrame 3 × 2' }],
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a' } }
        ]
      }),
      response({
        steps: [step(), step({ index: 2, approval: 'pending', status: 'waiting' })]
      })
    ];
    for (const payload of made) {
      expect(errors(validateResponse, payload)).toEqual([]);
    }
    expect(
      errors(validateStep, step({ approval: 'read-only', tool: 'describe' }))
    ).toEqual([]);
  });

  it('fail where the renderer is more lenient than the package', () => {
    // The renderer copes with partial usage; the package always writes all four counts.
    const partial = response({ usage: { prompt_tokens: 30, completion_tokens: 4 } });
    expect(errors(validateResponse, partial).join('\n')).toContain('cached_tokens');
    const { status: _status, ...noStatus } = response();
    expect(errors(validateResponse, noStatus).join('\n')).toContain('status');
    expect(errors(validateResponse, response({ status: 'finished' }))).not.toEqual([]);
    expect(errors(validateStep, step({ approval: 'maybe' }))).not.toEqual([]);
  });
});

describe('model.ts against the schemas', () => {
  const defs = responseSchema.$defs;
  const pairs: [string, Json, Record<string, boolean>][] = [
    ['IResponse', responseSchema, RESPONSE_KEYS],
    ['IUsage', defs.usage, USAGE_KEYS],
    ['IToolCall', defs.tool_call, TOOL_CALL_KEYS],
    ["IToolCall['function']", defs.tool_call.properties.function, TOOL_FUNCTION_KEYS],
    ['IContextItem', defs.context_item, CONTEXT_ITEM_KEYS],
    ['IStep', stepSchema, STEP_KEYS],
    ['ICompaction', responseSchema.properties.compactions.items, COMPACTION_KEYS]
  ];
  // Keys the package always writes that model.ts still reads as optional, so that the
  // renderer copes with payloads that lack them.
  const lenient: Record<string, string[]> = {
    IResponse: ['thinking_s'],
    IUsage: ['cached_tokens', 'reasoning_tokens'],
    IContextItem: ['brief']
  };

  it.each(pairs)(
    '%s declares every key of the schema, and no other',
    (_, schema, keys) => {
      expect(sorted(Object.keys(keys))).toEqual(sorted(Object.keys(schema.properties)));
      expect(schema.additionalProperties).toBe(false);
    }
  );

  it.each(pairs)('%s requires what the schema requires', (name, schema, keys) => {
    const required: string[] = schema.required;
    const relaxed = required.filter(key => !keys[key]);
    expect(sorted(relaxed)).toEqual(sorted(lenient[name] ?? []));
    expect(requiredKeys(keys).every(key => required.includes(key))).toBe(true);
  });
});
