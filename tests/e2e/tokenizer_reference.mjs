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
  // Plain lists of numbers, whatever array type the library hands back.
  return {
    ids: Array.from(e.ids, Number),
    type_ids: e.token_type_ids ? Array.from(e.token_type_ids, Number) : null,
  };
});
writeFileSync(outPath, JSON.stringify(out));
