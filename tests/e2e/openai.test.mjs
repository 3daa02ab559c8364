// The real modelrt server, driven by the official OpenAI client (run by run.sh, which starts the
// server and sets MODELRT_E2E_BASE_URL and MODELRT_E2E_API_KEY).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.env.MODELRT_E2E_BASE_URL;
const apiKey = process.env.MODELRT_E2E_API_KEY;
assert.ok(baseURL && apiKey, 'run through tests/e2e/run.sh');
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

const chatRequest = {
  model: 'chat',
  messages: [{ role: 'user', content: 'Tell me about a little dog.' }],
  temperature: 0,
  max_tokens: 16,
};

function norm(v) {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

test('lists and retrieves models and profiles', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  for (const id of ['embed', 'rerank', 'chat', 'storyteller']) assert.ok(ids.includes(id), id);
  const chat = await client.models.retrieve('chat');
  assert.equal(chat.id, 'chat');
  assert.equal(chat.object, 'model');
});

test('embeddings as float and as base64', async () => {
  const floats = await client.embeddings.create({
    model: 'embed', input: ['hello world', 'good night'], encoding_format: 'float',
  });
  assert.equal(floats.data.length, 2);
  assert.equal(floats.data[1].index, 1);
  const v = floats.data[0].embedding;
  assert.equal(v.length, 64);
  assert.ok(Math.abs(norm(v) - 1) < 1e-3);
  assert.ok(floats.usage.prompt_tokens > 0);

  // Raw base64: little-endian float32 bytes of the same vector.
  const b64 = await client.embeddings.create({
    model: 'embed', input: 'hello world', encoding_format: 'base64',
  });
  assert.equal(typeof b64.data[0].embedding, 'string');
  const bytes = Buffer.from(b64.data[0].embedding, 'base64');
  const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  assert.equal(decoded.length, 64);
  decoded.forEach((x, i) => assert.ok(Math.abs(x - v[i]) < 1e-6, `value ${i}`));

  // With no encoding_format the client asks for base64 and decodes it itself.
  const defaulted = await client.embeddings.create({ model: 'embed', input: 'hello world' });
  defaulted.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - v[i]) < 1e-6));

  const cut = await client.embeddings.create({
    model: 'embed', input: 'hello world', dimensions: 8, encoding_format: 'float',
  });
  assert.equal(cut.data[0].embedding.length, 8);
  assert.ok(Math.abs(norm(cut.data[0].embedding) - 1) < 1e-4);
});

test('chat completion, whole and streamed', async () => {
  const whole = await client.chat.completions.create(chatRequest);
  assert.equal(whole.object, 'chat.completion');
  const text = whole.choices[0].message.content;
  assert.ok(text.length > 0);
  assert.ok(['stop', 'length'].includes(whole.choices[0].finish_reason));
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);

  const stream = await client.chat.completions.create({
    ...chatRequest, stream: true, stream_options: { include_usage: true },
  });
  let streamed = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    for (const choice of chunk.choices) {
      streamed += choice.delta?.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks >= 3);
  assert.equal(streamed, text);
  assert.equal(finish, whole.choices[0].finish_reason);
  // The same counts; the stream may find the whole request's prompt in the prompt cache.
  for (const field of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
    assert.equal(usage[field], whole.usage[field], field);
  }
});

test('completions, whole and streamed, with a stop string', async () => {
  const request = { model: 'chat', prompt: 'Once upon a time', temperature: 0, max_tokens: 20 };
  const whole = await client.completions.create(request);
  const text = whole.choices[0].text;
  assert.ok(text.length > 4);
  const stream = await client.completions.create({ ...request, stream: true });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
  assert.equal(streamed, text);

  const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
  const stopped = await client.completions.create({ ...request, stop: [stop] });
  assert.equal(stopped.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(stopped.choices[0].finish_reason, 'stop');
});

test('profiles are model names', async () => {
  const r = await client.chat.completions.create({
    model: 'storyteller', messages: [{ role: 'user', content: 'A story, please.' }],
  });
  assert.equal(r.model, 'storyteller');
  assert.ok(r.usage.completion_tokens <= 8);
});

test('errors surface as the client\'s typed errors', async () => {
  await assert.rejects(
    client.embeddings.create({ model: 'no-such-model', input: 'x' }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found');
  await assert.rejects(
    client.chat.completions.create({ ...chatRequest, model: 'no-such-model' }),
    (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(
    client.embeddings.create({ model: 'embed', input: '' }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /empty/.test(e.message));
  await assert.rejects(
    client.embeddings.create({ model: 'chat', input: 'x' }),
    (e) => e instanceof OpenAI.BadRequestError);
  await assert.rejects(
    client.chat.completions.create({ ...chatRequest, max_tokens: 100000 }),
    (e) => e instanceof OpenAI.BadRequestError && /max_tokens_limit/.test(e.message));
  await assert.rejects(
    client.chat.completions.create({ ...chatRequest, stream: true, max_tokens: 100000 }),
    (e) => e instanceof OpenAI.BadRequestError);
  const stranger = new OpenAI({ baseURL, apiKey: 'wrong-key', maxRetries: 0 });
  await assert.rejects(stranger.models.list(),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});
