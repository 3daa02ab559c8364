// Ollama's API on the real modelrt server through the official `ollama` npm client (run by
// run.sh): chat and generate streamed as NDJSON and whole, embeddings, tags, show, ps, version,
// and tool calls with the `tools` alias (a random llama carrying Qwen 2.5's template).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';

const baseURL = process.env.MODELRT_E2E_BASE_URL;
const apiKey = process.env.MODELRT_E2E_API_KEY;
assert.ok(baseURL && apiKey, 'run through tests/e2e/run.sh');
const ollama = new Ollama({ host: baseURL.replace(/\/v1$/, ''), headers: { Authorization: `Bearer ${apiKey}` } });

test('ollama: version, tags, show and ps', async () => {
  const version = await ollama.version();
  assert.match(version.version, /^\d+\.\d+\.\d+/);
  const tags = await ollama.list();
  const names = tags.models.map((m) => m.name);
  for (const name of ['chat', 'embed', 'tools']) assert.ok(names.includes(name), name);
  const show = await ollama.show({ model: 'chat' });
  assert.ok(show.capabilities.includes('completion'));
  await ollama.generate({ model: 'chat', prompt: 'Once', stream: false, options: { num_predict: 2 } });
  const ps = await ollama.ps();
  assert.ok(ps.models.some((m) => m.name === 'chat'));
});

test('ollama: chat streamed and whole give the same reply', async () => {
  const request = { model: 'chat', messages: [{ role: 'user', content: 'Tell me about a cat.' }],
    options: { temperature: 0, num_predict: 12 } };
  const whole = await ollama.chat({ ...request, stream: false });
  assert.equal(whole.done, true);
  assert.equal(whole.message.role, 'assistant');
  assert.ok(whole.message.content.length > 0);
  assert.ok(whole.eval_count > 0 && whole.prompt_eval_count > 0);
  let text = '';
  let last = null;
  for await (const part of await ollama.chat({ ...request, stream: true })) {
    text += part.message.content;
    last = part;
  }
  assert.equal(last.done, true);
  assert.ok(['stop', 'length'].includes(last.done_reason));
  assert.equal(text, whole.message.content);
});

test('ollama: generate and embed', async () => {
  const g = await ollama.generate({ model: 'chat', prompt: 'Once upon a time', raw: true, stream: false,
    options: { temperature: 0, num_predict: 6 } });
  assert.ok(g.response.length > 0);
  assert.equal(g.done, true);
  const e = await ollama.embed({ model: 'embed', input: ['hello', 'world'] });
  assert.equal(e.embeddings.length, 2);
  assert.equal(e.embeddings[0].length, 64);
  await assert.rejects(ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }], stream: false }),
    (err) => err.status_code === 404 || /nope/.test(err.message));
});

test('ollama: a required tool call through the template', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { enum: ['Paris', 'Tokyo'] } }, required: ['city'] } } }];
  const r = await ollama.chat({ model: 'tools', stream: false, tools,
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    format: undefined, options: { temperature: 0, num_predict: 120 } });
  // tool_choice is not part of Ollama's API (auto): a random model may or may not call, but any
  // call it makes parses and follows the schema.
  for (const call of r.message.tool_calls ?? []) {
    assert.equal(call.function.name, 'get_weather');
    assert.ok(['Paris', 'Tokyo'].includes(call.function.arguments.city));
  }
  const j = await ollama.chat({ model: 'chat', stream: false, format: 'json',
    messages: [{ role: 'user', content: 'A person as JSON' }], options: { seed: 1, num_predict: 60 } });
  if (j.done_reason === 'stop') assert.equal(typeof JSON.parse(j.message.content), 'object');
});
