// Payloads the unit tests build by hand; test/schemas.test.ts checks them against the
// JSON Schemas that the Python package ships.
import { IResponse, IStep } from '../src/model';

/** A finished reply, with `over` replacing any of its fields. */
export function response(over: Partial<IResponse> = {}): IResponse {
  return {
    version: 1,
    model: 'glm-5.1',
    provider: 'zai',
    status: 'done',
    reasoning: '',
    content: 'Hi',
    tool_calls: [],
    usage: {
      prompt_tokens: 1000,
      completion_tokens: 200,
      cached_tokens: 0,
      reasoning_tokens: 0
    },
    cost_usd: 0.0123,
    elapsed_s: 2.345,
    thinking_s: null,
    finish_reason: 'stop',
    error: null,
    simulator: false,
    context: [],
    ...over
  };
}

/** A finished run_python step, with `over` replacing any of its fields. */
export function step(over: Partial<IStep> = {}): IStep {
  return {
    index: 1,
    tool: 'run_python',
    arguments: '{"code": "x = 1"}',
    reasoning: '',
    approval: 'approved',
    output: '',
    elapsed_s: 0.012,
    status: 'done',
    ...over
  };
}
