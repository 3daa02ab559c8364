// Reference ids from Hugging Face's tokenizers.js (@huggingface/tokenizers, pinned in
// package.json) for modelrt's tokenizer tests (tests/tokenizer):
//   node tests/e2e/tokenizer_reference.mjs tokenizer.json inputs.json out.json
// inputs.json: [{"text": "...", "pair": "..." (optional)}, ...]; out.json: [{"ids", "type_ids"}].
import { readFileSync, writeFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const [tokenizerPath, inputsPath, outPath] = process.argv.slice(2);
const tokenizer = new Tokenizer(JSON.parse(readFileSync(tokenizerPath, "utf8")), {});
const inputs = JSON.parse(readFileSync(inputsPath, "utf8"));
const out = inputs.map(({ text, pair }) => {
  const e = tokenizer.encode(text, {
    text_pair: pair ?? null,
    add_special_tokens: true,
    return_token_type_ids: true,
  });
  return { ids: e.ids, type_ids: e.token_type_ids };
});
writeFileSync(outPath, JSON.stringify(out));
