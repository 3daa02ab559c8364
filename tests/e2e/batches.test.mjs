// The Files and Batch APIs through the official OpenAI client, unchanged: upload a JSONL input,
// create a batch, poll it, read its output file; and a cancel (run by run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';

const baseURL = process.env.MODELRT_E2E_BASE_URL;
const apiKey = process.env.MODELRT_E2E_API_KEY;
assert.ok(baseURL && apiKey, 'run through tests/e2e/run.sh');
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

function jsonl(lines) {
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

async function until(id, done) {
  for (let i = 0; i < 3000; i++) {
    const batch = await client.batches.retrieve(id);
    if (done(batch)) return batch;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`batch ${id} did not get there`);
}

test('an embeddings batch: files.create, batches.create, batches.retrieve, files.content', async () => {
  const requests = [];
  for (let i = 0; i < 50; i++) {
    requests.push({ custom_id: `e${i}`, method: 'POST', url: '/v1/embeddings',
                    body: { model: 'embed', input: `text number ${i}` } });
  }
  requests.push({ custom_id: 'bad-model', method: 'POST', url: '/v1/embeddings',
                  body: { model: 'no-such-model', input: 'x' } });
  const file = await client.files.create({
    file: await toFile(Buffer.from(jsonl(requests)), 'embeddings.jsonl'), purpose: 'batch',
  });
  assert.equal(file.object, 'file');
  assert.equal(file.purpose, 'batch');
  assert.equal(file.filename, 'embeddings.jsonl');

  const created = await client.batches.create({
    input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h',
    metadata: { suite: 'e2e' },
  });
  assert.equal(created.object, 'batch');
  assert.equal(created.input_file_id, file.id);
  const batch = await until(created.id, (b) => ['completed', 'failed', 'cancelled'].includes(b.status));
  assert.equal(batch.status, 'completed');
  assert.deepEqual(batch.request_counts, { total: 51, completed: 50, failed: 1 });
  assert.equal(batch.metadata.suite, 'e2e');

  const output = await (await client.files.content(batch.output_file_id)).text();
  const lines = output.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 50);
  lines.forEach((line, i) => {
    assert.equal(line.custom_id, `e${i}`);
    assert.equal(line.response.status_code, 200);
    assert.equal(line.response.body.data[0].embedding.length, 64);
  });
  // The same request online gives the same vector.
  const online = await client.embeddings.create({ model: 'embed', input: 'text number 7' });
  online.data[0].embedding.forEach((x, d) =>
    assert.ok(Math.abs(x - lines[7].response.body.data[0].embedding[d]) < 1e-4));

  const errors = await (await client.files.content(batch.error_file_id)).text();
  const failed = JSON.parse(errors.trim());
  assert.equal(failed.custom_id, 'bad-model');
  assert.equal(failed.response.status_code, 404);

  const listed = [];
  for await (const b of client.batches.list({ limit: 10 })) listed.push(b.id);
  assert.ok(listed.includes(batch.id));
  const deleted = await client.files.delete(file.id);
  assert.equal(deleted.deleted, true);
});

test('a batch can be cancelled', async () => {
  const requests = [];
  for (let i = 0; i < 300; i++) {
    requests.push({ custom_id: `g${i}`, method: 'POST', url: '/v1/chat/completions',
                    body: { model: 'chat', messages: [{ role: 'user', content: 'A story' }],
                            max_tokens: 64, temperature: 0 } });
  }
  const file = await client.files.create({
    file: await toFile(Buffer.from(jsonl(requests)), 'chat.jsonl'), purpose: 'batch',
  });
  const created = await client.batches.create({
    input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h',
  });
  await until(created.id, (b) => b.request_counts.completed > 0);
  const cancelling = await client.batches.cancel(created.id);
  assert.ok(['cancelling', 'cancelled'].includes(cancelling.status), cancelling.status);
  const batch = await until(created.id, (b) => b.status === 'cancelled');
  assert.ok(batch.request_counts.completed < 300);
});

test('bad batch requests are the client\'s typed errors', async () => {
  await assert.rejects(client.batches.retrieve('batch_nope'),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
  await assert.rejects(
    client.batches.create({ input_file_id: 'file-000000000000000000000000',
                            endpoint: '/v1/embeddings', completion_window: '24h' }),
    (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(
    client.files.create({ file: await toFile(Buffer.from('{}'), 'x.jsonl'), purpose: 'fine-tune' }),
    (e) => e instanceof OpenAI.BadRequestError && /purpose/.test(e.message));
});
