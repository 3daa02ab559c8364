// Tools, logprobs and Anthropic's Messages API on the real modelrt server, through the official
// `openai` and `@anthropic-ai/sdk` clients (run by run.sh). The `tools` alias is a random-weight
// llama whose GGUF carries Qwen 2.5's chat template (with tool support): it knows nothing, so a
// required call is valid only because the template's grammar constrains it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const baseURL = process.env.MODELRT_E2E_BASE_URL;
const apiKey = process.env.MODELRT_E2E_API_KEY;
assert.ok(baseURL && apiKey, 'run through tests/e2e/run.sh');
const openai = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });
const anthropic = new Anthropic({ baseURL: baseURL.replace(/\/v1$/, ''), apiKey, maxRetries: 0, timeout: 120_000 });

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { enum: ['Paris', 'Tokyo', 'Lima'] } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};

function checkCall(call) {
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.ok(call.id.length > 0);
  const args = JSON.parse(call.function.arguments);
  assert.ok(['Paris', 'Tokyo', 'Lima'].includes(args.city), call.function.arguments);
}

test('openai: tool_choice required always yields a valid call, and the call round-trips', async () => {
  for (let seed = 0; seed < 10; seed++) {
    const r = await openai.chat.completions.create({
      model: 'tools',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weather],
      tool_choice: 'required',
      temperature: 1,
      seed,
      max_tokens: 200,
    });
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.ok(choice.message.tool_calls.length >= 1);
    choice.message.tool_calls.forEach(checkCall);
    if (seed > 0) continue;
    // call -> tool result -> answer
    const call = choice.message.tool_calls[0];
    const answer = await openai.chat.completions.create({
      model: 'tools',
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        choice.message,
        { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 degrees' },
      ],
      tools: [weather],
      tool_choice: 'none',
      temperature: 0,
      max_tokens: 12,
    });
    assert.equal(typeof answer.choices[0].message.content, 'string');
    assert.ok(!answer.choices[0].message.tool_calls, 'tool_choice none makes no call');
    assert.ok(['stop', 'length'].includes(answer.choices[0].finish_reason));
  }
});

test('openai: streamed tool-call deltas reassemble to the whole response', async () => {
  const request = {
    model: 'tools',
    messages: [{ role: 'user', content: 'Weather in Lima?' }],
    tools: [weather],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    temperature: 1,
    seed: 11,
    max_tokens: 200,
  };
  const whole = await openai.chat.completions.create(request);
  const stream = openai.chat.completions.stream({ ...request, stream: true });
  const streamed = await stream.finalChatCompletion();
  const a = whole.choices[0].message.tool_calls;
  const b = streamed.choices[0].message.tool_calls;
  assert.equal(b.length, a.length);
  b.forEach(checkCall);
  b.forEach((call, i) => assert.equal(call.function.arguments, a[i].function.arguments));
  assert.equal(streamed.choices[0].finish_reason, 'tool_calls');
});

test('openai: logprobs are log-probabilities of the tokens returned', async () => {
  const r = await openai.chat.completions.create({
    model: 'chat',
    messages: [{ role: 'user', content: 'Tell me a story.' }],
    temperature: 0,
    max_tokens: 8,
    logprobs: true,
    top_logprobs: 4,
  });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  assert.equal(content.map((t) => t.token).join(''), r.choices[0].message.content);
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 4);
    assert.equal(t.top_logprobs[0].token, t.token);
  }
  await assert.rejects(
    openai.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }],
      logprobs: true, top_logprobs: 21 }),
    (e) => e.status === 400 && /top_logprobs/.test(e.message));
});

test('openai: bad tool input is a 400 naming the field', async () => {
  const bad = [
    [{ tools: [{ ...weather, function: { ...weather.function, parameters: { type: 'tensor' } } }] },
      /tools\[0\]\.function\.parameters/],
    [{ tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }, /nope/],
    [{ tools: [weather], tool_choice: 'sometimes' }, /tool_choice/],
  ];
  for (const [extra, pattern] of bad) {
    await assert.rejects(
      openai.chat.completions.create({ model: 'tools', messages: [{ role: 'user', content: 'x' }], ...extra }),
      (e) => e.status === 400 && pattern.test(e.message), JSON.stringify(extra));
  }
});

test('anthropic: messages whole and streamed, the same reply', async () => {
  const request = {
    model: 'chat',
    max_tokens: 12,
    system: 'You tell short stories.',
    messages: [{ role: 'user', content: 'Tell me about a dog.' }],
    temperature: 0,
  };
  const whole = await anthropic.messages.create(request);
  assert.equal(whole.type, 'message');
  assert.equal(whole.role, 'assistant');
  assert.equal(whole.content[0].type, 'text');
  assert.ok(whole.content[0].text.length > 0);
  assert.ok(['end_turn', 'max_tokens'].includes(whole.stop_reason));
  assert.ok(whole.usage.input_tokens > 0);
  assert.ok(whole.usage.output_tokens > 0);

  const stream = anthropic.messages.stream(request);
  const events = [];
  stream.on('streamEvent', (e) => events.push(e.type));
  const final = await stream.finalMessage();
  assert.equal(final.content[0].text, whole.content[0].text);
  assert.equal(final.stop_reason, whole.stop_reason);
  assert.equal(final.usage.output_tokens, whole.usage.output_tokens);
  assert.equal(events[0], 'message_start');
  assert.equal(events.at(-1), 'message_stop');
  assert.ok(events.includes('content_block_delta'));

  const count = await anthropic.messages.countTokens({ model: 'chat', messages: request.messages, system: request.system });
  assert.ok(count.input_tokens > 0);
});

test('anthropic: tool use round trip with tool_choice any', async () => {
  const tools = [{ name: 'get_weather', description: 'The weather in a city',
    input_schema: weather.function.parameters }];
  const first = await anthropic.messages.create({
    model: 'tools', max_tokens: 200, temperature: 1,
    messages: [{ role: 'user', content: 'Weather in Tokyo?' }],
    tools, tool_choice: { type: 'any' },
  });
  assert.equal(first.stop_reason, 'tool_use');
  const use = first.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(first.content));
  assert.equal(use.name, 'get_weather');
  assert.ok(['Paris', 'Tokyo', 'Lima'].includes(use.input.city));

  const stream = anthropic.messages.stream({
    model: 'tools', max_tokens: 200, temperature: 1,
    messages: [{ role: 'user', content: 'Weather in Tokyo?' }],
    tools, tool_choice: { type: 'tool', name: 'get_weather' },
  });
  const streamed = await stream.finalMessage();
  const streamedUse = streamed.content.find((b) => b.type === 'tool_use');
  assert.ok(streamedUse && ['Paris', 'Tokyo', 'Lima'].includes(streamedUse.input.city));

  const answer = await anthropic.messages.create({
    model: 'tools', max_tokens: 12, temperature: 0,
    messages: [
      { role: 'user', content: 'Weather in Tokyo?' },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'rain' }] },
    ],
    tools,
  });
  assert.equal(answer.type, 'message');

  await assert.rejects(
    anthropic.messages.create({ model: 'tools', max_tokens: 8, messages: [{ role: 'user', content: 'x' }],
      tools, tool_choice: { type: 'tool', name: 'nope' } }),
    (e) => e.status === 400 && e.error?.type === 'error' && /nope/.test(e.message));
  await assert.rejects(
    anthropic.messages.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 400 && /max_tokens/.test(e.message));
});

const weatherFunction = { type: 'function', ...weather.function };

test('openai responses: text whole and streamed, the same reply', async () => {
  const params = { model: 'chat', instructions: 'You tell stories.', input: 'A dog story.',
                   max_output_tokens: 12, temperature: 0 };
  const whole = await openai.responses.create(params);
  assert.equal(whole.object, 'response');
  assert.ok(whole.output_text.length > 0);
  assert.ok(['completed', 'incomplete'].includes(whole.status));
  assert.ok(whole.usage.input_tokens > 0 && whole.usage.output_tokens > 0);
  // The SDK's stream helper rebuilds the response from the events.
  const stream = openai.responses.stream(params);
  let deltas = '';
  stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
  const final = await stream.finalResponse();
  assert.equal(deltas, whole.output_text);
  assert.equal(final.output_text, whole.output_text);
  // And the raw event stream of responses.create({stream: true}).
  const events = [];
  for await (const e of await openai.responses.create({ ...params, stream: true })) events.push(e.type);
  assert.equal(events[0], 'response.created');
  assert.ok(['response.completed', 'response.incomplete'].includes(events.at(-1)), events.join());
});

test('openai responses: a required function call round-trips as input items', async () => {
  for (let seed = 0; seed < 5; seed++) {
    const r = await openai.responses.create({
      model: 'tools', input: 'What is the weather in Paris?', tools: [weatherFunction],
      tool_choice: 'required', temperature: 1, max_output_tokens: 200,
    });
    const calls = r.output.filter((item) => item.type === 'function_call');
    assert.ok(calls.length >= 1, JSON.stringify(r.output));
    const args = JSON.parse(calls[0].arguments);
    assert.ok(['Paris', 'Tokyo', 'Lima'].includes(args.city), calls[0].arguments);
    if (seed > 0) continue;
    const answer = await openai.responses.create({
      model: 'tools', tools: [weatherFunction], tool_choice: 'none', max_output_tokens: 16,
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        ...r.output,
        { type: 'function_call_output', call_id: calls[0].call_id, output: 'sunny, 21 degrees' },
      ],
    });
    assert.equal(answer.output[0].type, 'message');
    assert.ok(answer.usage.input_tokens > r.usage.input_tokens);
  }
  // Streamed: the call's arguments come as deltas and the final response holds the call.
  const stream = openai.responses.stream({
    model: 'tools', input: 'Weather in Tokyo?', tools: [weatherFunction], tool_choice: 'required',
    temperature: 1, max_output_tokens: 200,
  });
  // Each call (parallel calls are on) is its own output item; its deltas make its arguments.
  const args = {};
  stream.on('response.function_call_arguments.delta', (e) => {
    args[e.output_index] = (args[e.output_index] ?? '') + e.delta;
  });
  const final = await stream.finalResponse();
  assert.ok(final.output.some((item) => item.type === 'function_call'));
  for (const [index, text] of Object.entries(args)) {
    assert.equal(final.output[index].arguments, text);
    JSON.parse(text);
  }
});

test('openai responses: bad input is a 400 naming the field', async () => {
  for (const [params, needle] of [
    [{ model: 'chat', input: 'x', previous_response_id: 'resp_1' }, 'previous_response_id'],
    [{ model: 'chat', input: 'x', tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    [{ model: 'tools', input: 'x', tools: [weatherFunction], tool_choice: { type: 'function', name: 'nope' } },
     'tool_choice'],
  ]) {
    await assert.rejects(openai.responses.create(params), (e) => {
      assert.equal(e.status, 400);
      assert.ok(e.message.includes(needle), e.message);
      return true;
    });
  }
});

test('openai: n choices, seeded apart', async () => {
  const r = await openai.chat.completions.create({
    model: 'chat', messages: [{ role: 'user', content: 'A story.' }], n: 3, seed: 7,
    temperature: 1, max_tokens: 8,
  });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  const again = await openai.chat.completions.create({
    model: 'chat', messages: [{ role: 'user', content: 'A story.' }], seed: 8, temperature: 1,
    max_tokens: 8,
  });
  assert.equal(again.choices[0].message.content, r.choices[1].message.content);
});
