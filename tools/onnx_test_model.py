#!/usr/bin/python3
"""Turns a random-weight BERT GGUF (from modelrt-testmodel) into a Hugging Face-layout ONNX model.

Why: modelrt runs embedders and rerankers through two backends, llama.cpp (GGUF) and ONNX Runtime
(model.onnx + tokenizer.json). With the SAME weights in both formats, the two backends can be
cross-checked on any machine without downloading real models: embeddings and rerank scores must
agree to cosine >= 0.9999 and max abs diff <= 1e-4.

The graph reproduces llama.cpp's BERT (src/models/bert.cpp, build_pooling in llama-graph.cpp):
post-LayerNorm blocks, token + type + position embeddings, and for a reranker the rank head
(cls weight+bias, tanh, cls.output weight+bias; no sigmoid) on the CLS hidden state. GELU is the
exact erf form, as Hugging Face's exports have it (llama.cpp uses a tanh-approximate GELU through
an fp16 table; --check measures how much that moves the results).

Run with Debian's python and its python3-onnx (1.12) and python3-numpy, nothing else:

  /usr/bin/python3 tools/onnx_test_model.py MODEL.gguf OUT_DIR [--no-token-types]
  /usr/bin/python3 tools/onnx_test_model.py MODEL.gguf OUT_DIR --check [--llama-embedding BIN]

A BERT with cls.* tensors and pooling_type 4 (rank) becomes a cross-encoder (inputs input_ids,
attention_mask; output logits [batch, 1]); anything else an embedder (inputs input_ids,
attention_mask, token_type_ids unless --no-token-types; output last_hidden_state). OUT_DIR gets
model.onnx, tokenizer.json, config.json, tokenizer_config.json, special_tokens_map.json and, for
an embedder, 1_Pooling/config.json.

--check compares a pure-numpy forward pass with the graph (when onnx.reference exists; onnx 1.12
has none) and with llama.cpp's llama-embedding (found under ~/.cache/modelrt/llama.cpp-*/ unless
given; --llama-arg passes it more arguments, e.g. -fa off) on a few texts, prints cosine and max
abs diff, and exits 1 when they are out of bounds. Each line has two columns: numpy with the
graph's erf GELU (what must meet the bounds) and numpy with llama.cpp's fp16-table GELU (how much
of the gap is GELU). The default test model (E=64, 2 layers) agrees to ~2e-5; at bge-small's
shape (E=384, 6 layers) llama.cpp's fp16 GELU table and flash attention's fp16 K/V add up to
~5e-4 max abs (cosine still > 0.99999998), which is llama.cpp's rounding, not the graph's.
"""

import argparse
import glob
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

POOLING_MEAN, POOLING_CLS, POOLING_LAST, POOLING_RANK = 1, 2, 3, 4
COSINE_MIN, MAX_ABS_DIFF = 0.9999, 1e-4


class InputError(Exception):
    """A model this tool cannot convert: reported as one line, exit code 1."""


# ----------------------------------------------------------------------------------------------
# GGUF reading (v3; only what a BERT test model needs: metadata of any type, F32 tensors)

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY, _F32 = 8, 9, 0


class _Reader:
    def __init__(self, data, path):
        self.data, self.pos, self.path = data, 0, path

    def truncated(self):
        return InputError(f"{self.path}: truncated GGUF file")

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise self.truncated()
        value = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value[0] if len(value) == 1 else value

    def string(self):
        n = self.unpack("<Q")
        if self.pos + n > len(self.data):
            raise self.truncated()
        s = self.data[self.pos:self.pos + n].decode("utf-8", errors="replace")
        self.pos += n
        return s

    def value(self, kind):
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, n = self.unpack("<I"), self.unpack("<Q")
            if item_kind in _SCALARS and item_kind != 7:  # numbers in one go: vocab scores etc.
                dtype = np.dtype(_SCALARS[item_kind])
                end = self.pos + n * dtype.itemsize
                if end > len(self.data):
                    raise self.truncated()
                values = np.frombuffer(self.data, dtype, n, self.pos).tolist()
                self.pos = end
                return values
            return [self.value(item_kind) for _ in range(n)]
        raise InputError(f"{self.path}: unknown GGUF value type {kind}")


def read_gguf(path):
    """Returns (metadata dict, {name: float32 array}) with arrays in numpy order (ne reversed)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}")
    if data[:4] != b"GGUF":
        raise InputError(f"{path} is not a GGUF file")
    r = _Reader(data, path)
    r.pos = 4
    version, n_tensors, n_kv = r.unpack("<I"), r.unpack("<Q"), r.unpack("<Q")
    if version not in (2, 3):
        raise InputError(f"{path}: GGUF version {version} is not supported (2 or 3)")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.unpack("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        ne = [r.unpack("<Q") for _ in range(r.unpack("<I"))]
        kind, offset = r.unpack("<I"), r.unpack("<Q")
        infos.append((name, ne, kind, offset))
    alignment = meta.get("general.alignment", 32)
    base = (r.pos + alignment - 1) // alignment * alignment
    tensors = {}
    for name, ne, kind, offset in infos:
        if kind != _F32:
            raise InputError(f"{path}: tensor {name} is not F32 (ggml type {kind}); "
                             "only F32 test models are supported")
        count = math.prod(ne)
        if base + offset + 4 * count > len(data):
            raise InputError(f"{path}: tensor {name} runs past the end of the file")
        # ggml's ne0 is the innermost dimension, so numpy's shape is ne reversed.
        tensors[name] = np.frombuffer(data, "<f4", count, base + offset).reshape(ne[::-1])
    return meta, tensors


# ----------------------------------------------------------------------------------------------
# The model as plain numbers

class Bert:
    """Hyperparameters and weights of a GGUF BERT. Matrices are [out, in] (y = x @ w.T)."""

    def __init__(self, meta, tensors, path):
        if meta.get("general.architecture") != "bert":
            raise InputError(f"{path}: architecture is {meta.get('general.architecture')!r}, "
                             "not 'bert'")

        def hparam(key):
            if f"bert.{key}" not in meta:
                raise InputError(f"{path}: missing metadata bert.{key}")
            return meta[f"bert.{key}"]

        def tensor(name, required=True):
            if name not in tensors and required:
                raise InputError(f"{path}: missing tensor {name}")
            return tensors.get(name)

        self.embd = int(hparam("embedding_length"))
        self.layers = int(hparam("block_count"))
        self.heads = int(hparam("attention.head_count"))
        self.ff = int(hparam("feed_forward_length"))
        self.ctx = int(hparam("context_length"))
        # Stored as f32: its shortest decimal (1e-12, not 9.99999996e-13) for config.json.
        self.eps = float(str(np.float32(hparam("attention.layer_norm_epsilon"))))
        self.pooling = int(meta.get("bert.pooling_type", POOLING_CLS))
        if self.embd % self.heads:
            raise InputError(f"{path}: embedding_length {self.embd} is not a multiple of "
                             f"head_count {self.heads}")
        self.tokens = meta.get("tokenizer.ggml.tokens")
        if not self.tokens:
            raise InputError(f"{path}: no tokenizer.ggml.tokens")
        self.special_ids = {name: meta.get(f"tokenizer.ggml.{key}_token_id")
                            for name, key in (("cls", "cls"), ("sep", "seperator"),
                                              ("pad", "padding"), ("unk", "unknown"),
                                              ("mask", "mask"))}
        self.tok_embd = tensor("token_embd.weight")
        self.type_embd = tensor("token_types.weight", required=False)  # [types, E]
        self.pos_embd = tensor("position_embd.weight")
        self.embd_norm = (tensor("token_embd_norm.weight"), tensor("token_embd_norm.bias"))
        self.blocks = []
        for i in range(self.layers):
            b = f"blk.{i}."
            block = {}
            for part in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_up", "ffn_down"):
                w = tensor(b + part + ".weight")
                bias = tensor(b + part + ".bias", required=False)
                block[part] = (w, np.zeros(w.shape[0], np.float32) if bias is None else bias)
            for part in ("attn_output_norm", "layer_output_norm"):
                block[part] = (tensor(b + part + ".weight"), tensor(b + part + ".bias"))
            self.blocks.append(block)
        # The rank head: llama.cpp makes every part optional; keep what is there, in its order.
        self.head = []
        for prefix, activation in (("cls", "tanh"), ("cls.output", None)):
            w = tensor(prefix + ".weight", required=False)
            if w is None:
                continue
            w = w.reshape(-1, self.embd)  # a 1-D cls.output.weight is [1, E]
            bias = tensor(prefix + ".bias", required=False)
            self.head.append((w, np.zeros(w.shape[0], np.float32) if bias is None
                              else bias.reshape(-1), activation))
        self.cross_encoder = self.pooling == POOLING_RANK and bool(self.head)
        if self.tok_embd.shape[0] != len(self.tokens):
            raise InputError(f"{path}: {len(self.tokens)} tokens but token_embd.weight has "
                             f"{self.tok_embd.shape[0]} rows")

    def special_token(self, name, default):
        token_id = self.special_ids[name]
        if token_id is None or not 0 <= token_id < len(self.tokens):
            return default
        return self.tokens[token_id]


# ----------------------------------------------------------------------------------------------
# The ONNX graph

class _GraphBuilder:
    """Collects nodes and initializers; every helper returns the name of its output."""

    def __init__(self):
        self.nodes, self.initializers, self.names, self.count = [], [], set(), 0

    def const(self, name, value):
        # Shared constants (GELU's, the mask's) are asked for once per use but stored once.
        if name not in self.names:
            self.names.add(name)
            self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type, *inputs, **attrs):
        self.count += 1
        out = f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x, name, w, b):
        # Stored as [in, out] so that MatMul(x, w) = x @ W.T, as Hugging Face's exports do.
        wt = self.const(name + ".weight", np.ascontiguousarray(w.T, np.float32))
        return self.op("Add", self.op("MatMul", x, wt), self.const(name + ".bias",
                                                                   b.astype(np.float32)))

    def layer_norm(self, x, name, weight_bias, eps):
        w, b = weight_bias
        return self.op("LayerNormalization", x, self.const(name + ".weight", w),
                       self.const(name + ".bias", b), axis=-1, epsilon=eps)

    def gelu(self, x):
        # Exact GELU, the Div/Erf/Add/Mul/Mul chain of Hugging Face's exports (no Gelu in opset 17).
        erf = self.op("Erf", self.op("Div", x, self.const("gelu.sqrt2", np.float32(math.sqrt(2)))))
        one_plus = self.op("Add", erf, self.const("gelu.one", np.float32(1.0)))
        return self.op("Mul", self.op("Mul", x, one_plus),
                       self.const("gelu.half", np.float32(0.5)))


def _embeddings(g, bert, with_types):
    words = g.op("Gather", g.const("token_embd.weight", bert.tok_embd), "input_ids")
    # Positions 0..S-1: the first S rows of the position table.
    seq_len = g.op("Shape", "input_ids", start=1, end=2)
    positions = g.op("Slice", g.const("position_embd.weight", bert.pos_embd),
                     g.const("zero_1d", np.array([0], np.int64)), seq_len,
                     g.const("axes_0", np.array([0], np.int64)))
    x = g.op("Add", words, positions)
    if bert.type_embd is not None:
        if with_types:
            types = g.op("Gather", g.const("token_types.weight", bert.type_embd),
                         "token_type_ids")
        else:
            # llama.cpp always adds row 0 ("sentence A"), whatever the tokenizer's type ids.
            types = g.const("token_types.row0", bert.type_embd[0])
        x = g.op("Add", x, types)
    return g.layer_norm(x, "token_embd_norm", bert.embd_norm, bert.eps)


def _attention_bias(g):
    # [B, 1, 1, S]: 0 for real keys, -1e9 for padding, so padded keys get exactly 0 weight.
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    inverted = g.op("Sub", g.const("mask.one", np.float32(1.0)), mask)
    bias = g.op("Mul", inverted, g.const("mask.min", np.float32(-1e9)))
    return g.op("Unsqueeze", bias, g.const("mask.axes", np.array([1, 2], np.int64)))


def _block(g, bert, i, x, bias):
    b, name = bert.blocks[i], f"blk.{i}."
    head_dim = bert.embd // bert.heads
    split = g.const(name + "split_shape", np.array([0, 0, bert.heads, head_dim], np.int64))

    def heads(part, perm):
        return g.op("Transpose", g.op("Reshape", g.linear(x, name + part, *b[part]), split),
                    perm=perm)

    q = heads("attn_q", [0, 2, 1, 3])  # [B, H, S, D]
    k = heads("attn_k", [0, 2, 3, 1])  # [B, H, D, S]
    v = heads("attn_v", [0, 2, 1, 3])
    scores = g.op("Mul", g.op("MatMul", q, k),
                  g.const(name + "scale", np.float32(1.0 / math.sqrt(head_dim))))
    probs = g.op("Softmax", g.op("Add", scores, bias), axis=-1)
    context = g.op("Reshape", g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3]),
                   g.const(name + "merge_shape", np.array([0, 0, bert.embd], np.int64)))
    attn = g.linear(context, name + "attn_output", *b["attn_output"])
    x = g.layer_norm(g.op("Add", attn, x), name + "attn_output_norm", b["attn_output_norm"],
                     bert.eps)
    up = g.gelu(g.linear(x, name + "ffn_up", *b["ffn_up"]))
    down = g.linear(up, name + "ffn_down", *b["ffn_down"])
    return g.layer_norm(g.op("Add", down, x), name + "layer_output_norm",
                        b["layer_output_norm"], bert.eps)


def _rank_head(g, bert, hidden):
    x = g.op("Gather", hidden, g.const("cls_index", np.array(0, np.int64)), axis=1)  # [B, E]
    for n, (w, b, activation) in enumerate(bert.head):
        x = g.linear(x, "cls" if n == 0 and activation else "cls.output", w, b)
        if activation == "tanh":
            x = g.op("Tanh", x)
    return x


def build_onnx(bert, with_types):
    g = _GraphBuilder()
    with_types = with_types and not bert.cross_encoder and bert.type_embd is not None
    x = _embeddings(g, bert, with_types)
    bias = _attention_bias(g)
    for i in range(bert.layers):
        x = _block(g, bert, i, x, bias)
    if bert.cross_encoder:
        g.nodes.append(helper.make_node("Identity", [_rank_head(g, bert, x)], ["logits"]))
        outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                 ["batch", bert.head[-1][0].shape[0]])]
    else:
        g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
        outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                                 ["batch", "sequence", bert.embd])]
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
              for n in names]
    graph = helper.make_graph(g.nodes, "bert", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="modelrt tools/onnx_test_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


# ----------------------------------------------------------------------------------------------
# Tokenizer and config files

def wordpiece_vocab(tokens):
    """llama.cpp's converter marks word starts with U+2581 and drops '##'; undone here."""
    vocab = []
    for token in tokens:
        special = len(token) > 1 and token[0] == "[" and token[-1] == "]"
        if token.startswith("\u2581"):
            vocab.append(token[1:])
        else:
            vocab.append(token if special else "##" + token)
    return vocab


def special_tokens(bert):
    return {"cls_token": bert.special_token("cls", "[CLS]"),
            "sep_token": bert.special_token("sep", "[SEP]"),
            "pad_token": bert.special_token("pad", "[PAD]"),
            "unk_token": bert.special_token("unk", "[UNK]"),
            "mask_token": bert.special_token("mask", "[MASK]")}


def tokenizer_json(bert):
    """BGE's tokenizer.json (as tests/tokenizer/wordpiece_reference_test.cc writes it)."""
    vocab = {}
    for i, token in enumerate(wordpiece_vocab(bert.tokens)):
        vocab[token] = i  # a repeated token keeps its last id, like the C++ test's Json object
    specials = special_tokens(bert)
    for token in specials.values():
        if token not in vocab:
            raise InputError(f"special token {token} is not in the vocabulary")
    added = [{"id": vocab[specials[key]], "content": specials[key], "single_word": False,
              "lstrip": False, "rstrip": False, "normalized": False, "special": True}
             for key in ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")]
    cls, sep = specials["cls_token"], specials["sep_token"]

    def special(token, type_id):
        return {"SpecialToken": {"id": token, "type_id": type_id}}

    def sequence(name, type_id):
        return {"Sequence": {"id": name, "type_id": type_id}}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special(cls, 0), sequence("A", 0), special(sep, 0)],
            "pair": [special(cls, 0), sequence("A", 0), special(sep, 0), sequence("B", 1),
                     special(sep, 1)],
            "special_tokens": {cls: {"id": cls, "ids": [vocab[cls]], "tokens": [cls]},
                               sep: {"id": sep, "ids": [vocab[sep]], "tokens": [sep]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": specials["unk_token"],
                  "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": vocab},
    }


def config_json(bert, with_types):
    type_vocab = bert.type_embd.shape[0] if (with_types and not bert.cross_encoder and
                                             bert.type_embd is not None) else 1
    pad_id = bert.special_ids["pad"]
    config = {
        "architectures": ["BertForSequenceClassification" if bert.cross_encoder
                          else "BertModel"],
        "model_type": "bert",
        "hidden_size": bert.embd,
        "num_hidden_layers": bert.layers,
        "num_attention_heads": bert.heads,
        "intermediate_size": bert.ff,
        "hidden_act": "gelu",
        "max_position_embeddings": bert.pos_embd.shape[0],
        "vocab_size": len(bert.tokens),
        "type_vocab_size": type_vocab,
        "layer_norm_eps": bert.eps,
        "pad_token_id": 0 if pad_id is None else pad_id,
        "torch_dtype": "float32",
    }
    if bert.cross_encoder:
        labels = bert.head[-1][0].shape[0]
        config["num_labels"] = labels
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(labels)}
        config["label2id"] = {f"LABEL_{i}": i for i in range(labels)}
    return config


def tokenizer_config_json(bert):
    return {"tokenizer_class": "BertTokenizer", "do_lower_case": True,
            "tokenize_chinese_chars": True, "strip_accents": None,
            "clean_up_tokenization_spaces": True, "model_max_length": bert.ctx,
            **special_tokens(bert)}


def pooling_config_json(bert):
    # sentence-transformers' pooling, the GGUF's pooling_type (llama.cpp's default: CLS).
    mode = {POOLING_MEAN: "mean_tokens", POOLING_LAST: "lasttoken"}.get(bert.pooling,
                                                                      "cls_token")
    modes = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens",
             "weightedmean_tokens", "lasttoken")
    return {"word_embedding_dimension": bert.embd,
            **{f"pooling_mode_{m}": m == mode for m in modes},
            "include_prompt": True}


def write_file(path, data):
    """Into a temporary name beside it, then renamed: a reader never sees half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data if isinstance(data, bytes) else
                    (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_model_dir(bert, out_dir, with_types):
    model = build_onnx(bert, with_types)
    write_file(os.path.join(out_dir, "model.onnx"), model.SerializeToString())
    write_file(os.path.join(out_dir, "tokenizer.json"), tokenizer_json(bert))
    write_file(os.path.join(out_dir, "config.json"), config_json(bert, with_types))
    write_file(os.path.join(out_dir, "tokenizer_config.json"), tokenizer_config_json(bert))
    write_file(os.path.join(out_dir, "special_tokens_map.json"), special_tokens(bert))
    if not bert.cross_encoder:
        write_file(os.path.join(out_dir, "1_Pooling", "config.json"), pooling_config_json(bert))
    return model


# ----------------------------------------------------------------------------------------------
# --check: a numpy forward pass of the same math, against the graph and against llama.cpp

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu_erf(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_ggml(x):
    """llama.cpp's CPU GELU: the tanh form, looked up by the fp16 input, stored as fp16."""
    x16 = x.astype(np.float16).astype(np.float32)
    tanh_form = 0.5 * x16 * (1 + np.tanh(np.float32(0.7978845608) * x16 *
                                         (1 + np.float32(0.044715) * x16 * x16)))
    y = tanh_form.astype(np.float16).astype(np.float64)
    return np.where(x <= -10, 0.0, np.where(x >= 10, x, y))


def _layer_norm(x, weight_bias, eps):
    w, b = weight_bias
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def numpy_forward(bert, ids, type_ids=None, gelu=gelu_erf):
    """One unpadded sequence, in float64: hidden states [S, E] and, for a reranker, logits."""
    ids = np.asarray(ids)
    s = len(ids)
    x = bert.tok_embd[ids].astype(np.float64) + bert.pos_embd[:s]
    if bert.type_embd is not None:
        x = x + bert.type_embd[np.zeros(s, int) if type_ids is None else np.asarray(type_ids)]
    x = _layer_norm(x, bert.embd_norm, bert.eps)
    h, d = bert.heads, bert.embd // bert.heads
    for b in bert.blocks:
        def lin(v, part):
            return v @ b[part][0].T.astype(np.float64) + b[part][1]

        q, k, v = (lin(x, p).reshape(s, h, d).transpose(1, 0, 2)
                   for p in ("attn_q", "attn_k", "attn_v"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(s, bert.embd)
        x = _layer_norm(lin(context, "attn_output") + x, b["attn_output_norm"], bert.eps)
        x = _layer_norm(lin(gelu(lin(x, "ffn_up")), "ffn_down") + x, b["layer_output_norm"],
                        bert.eps)
    logits = None
    if bert.cross_encoder:
        logits = x[0]
        for w, bias, activation in bert.head:
            logits = logits @ w.T.astype(np.float64) + bias
            if activation == "tanh":
                logits = np.tanh(logits)
    return x, logits


def pool(bert, hidden):
    if bert.pooling == POOLING_MEAN:
        return hidden.mean(0)
    if bert.pooling == POOLING_LAST:
        return hidden[-1]
    return hidden[0]


def agreement(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return cosine, float(np.abs(a - b).max())


def check_graph(model, bert, samples):
    """The graph against numpy, where onnx has a reference evaluator (onnx >= 1.13)."""
    try:
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        print(f"graph vs numpy: skipped (onnx {onnx.__version__} has no onnx.reference)")
        return True
    session, ok = ReferenceEvaluator(model), True
    names = [i.name for i in model.graph.input]
    for ids in samples:
        feeds = {"input_ids": np.array([ids], np.int64),
                 "attention_mask": np.ones((1, len(ids)), np.int64),
                 "token_type_ids": np.zeros((1, len(ids)), np.int64)}
        got = session.run(None, {n: feeds[n] for n in names})[0][0]
        hidden, logits = numpy_forward(bert, ids)
        cosine, diff = agreement(got, logits if bert.cross_encoder else hidden)
        ok &= cosine >= COSINE_MIN and diff <= MAX_ABS_DIFF
        print(f"graph vs numpy: {len(ids):3d} tokens  cosine {cosine:.9f}  max abs {diff:.2e}")
    return ok


def find_llama_embedding():
    found = sorted(glob.glob(os.path.expanduser(
        "~/.cache/modelrt/llama.cpp-*/build/bin/llama-embedding")))
    return found[-1] if found else None


def run_llama_embedding(binary, gguf, prompts, pooling, extra_args=()):
    """llama.cpp's token ids (--verbose-prompt) and raw pooled outputs for each prompt."""
    cmd = [binary, "-m", gguf, "-p", "\n".join(prompts), "--pooling", pooling,
           "--embd-normalize", "-1", "--embd-output-format", "json", "--verbose-prompt",
           "-t", "2", "-c", "512", *extra_args]
    ran = subprocess.run(cmd, capture_output=True, text=True)
    if ran.returncode != 0:
        raise InputError(f"llama-embedding failed ({ran.returncode}): {ran.stderr[-500:]}")
    out = ran.stdout
    start = out.index("\n{") + 1
    # For rank pooling only the first n_cls_out values are written; the rest is uninitialized
    # memory, printed as nan or inf, which JSON spells NaN.
    body = re.sub(r"-?\b(nan|inf)\b", "NaN", out[start:])
    embeddings = [d["embedding"] for d in json.JSONDecoder().raw_decode(body)[0]["data"]]
    ids, current = [], []
    for line in out[:start].splitlines():
        match = re.match(r"^\s*(\d+) -> '", line)
        if match:
            current.append(int(match.group(1)))
        elif current:
            ids.append(current)
            current = []
    if current:
        ids.append(current)
    if len(ids) != len(prompts) or len(embeddings) != len(prompts):
        raise InputError(f"llama-embedding: {len(ids)} token lists and {len(embeddings)} "
                         f"outputs for {len(prompts)} prompts")
    return ids, embeddings


CHECK_TEXTS = ["hello world",
               "The quick brown fox jumps over the lazy dog.",
               "a",
               "Random weights, real tokenizer: modelrt compares its ONNX Runtime backend with "
               "its llama.cpp backend on the same numbers, so every layer norm, attention head "
               "and feed-forward block has to match, including for longer inputs like this one "
               "which run past a hundred tokens once the word pieces are counted, and more "
               "pieces: 1234567890 naïve café straße Привет 中文 🦙."]
CHECK_PAIRS = [("what is a llama?", "A llama is a domesticated South American camelid."),
               ("hello", "world"),
               ("capital of france", "Paris is the capital and largest city of France, on "
                                     "the Seine, with about two million residents."),
               ("x", "y z")]


def check_llama(bert, gguf, binary, extra_args):
    """numpy (exact GELU, and llama.cpp's GELU) against llama.cpp's own outputs."""
    if bert.cross_encoder:
        prompts = [f"{q}\t{d}" for q, d in CHECK_PAIRS]
        pooling = "rank"
    else:
        prompts = CHECK_TEXTS
        pooling = {POOLING_MEAN: "mean", POOLING_LAST: "last"}.get(bert.pooling, "cls")
    ids, outputs = run_llama_embedding(binary, gguf, prompts, pooling, extra_args)
    ok, worst = True, {}
    for tokens, got in zip(ids, outputs):
        line = f"llama.cpp {pooling:4s} {len(tokens):3d} tokens"
        for gelu_name, gelu in (("erf gelu", gelu_erf), ("ggml gelu", gelu_ggml)):
            hidden, logits = numpy_forward(bert, tokens, gelu=gelu)
            want = logits if bert.cross_encoder else pool(bert, hidden)
            got_part = np.asarray(got[:len(want)]) if bert.cross_encoder else np.asarray(got)
            cosine, diff = agreement(want, got_part)
            if bert.cross_encoder:
                line += f" | {gelu_name}: score {float(want[0]):+.6f} vs {got_part[0]:+.6f}" \
                        f" diff {diff:.2e}"
            else:
                line += f" | {gelu_name}: cosine {cosine:.9f} max abs {diff:.2e}"
            if gelu is gelu_erf:  # the ONNX graph's math: this is what must meet the bounds
                ok &= (bert.cross_encoder or cosine >= COSINE_MIN) and diff <= MAX_ABS_DIFF
            w = worst.setdefault(gelu_name, [1.0, 0.0])
            w[0], w[1] = min(w[0], cosine), max(w[1], diff)
        print(line)
    for gelu_name, (cosine, diff) in worst.items():
        what = f"max abs {diff:.2e}" if bert.cross_encoder else \
            f"min cosine {cosine:.9f}, max abs {diff:.2e}"
        print(f"worst with numpy's {gelu_name}: {what}")
    return ok


def check(model, bert, gguf, binary, extra_args):
    samples = [[101, 7592, 2088, 102], list(range(1000, 1037))]
    for ids in samples:  # (a) the reference runs and is finite
        hidden, logits = numpy_forward(bert, ids)
        if not np.isfinite(hidden).all():
            raise InputError("numpy reference is not finite")
    print(f"numpy reference: {len(samples)} sequences, finite")
    ok = check_graph(model, bert, samples)  # (b)
    binary = binary or find_llama_embedding()  # (c)
    if binary is None:
        print("llama.cpp: skipped (no llama-embedding; pass --llama-embedding)")
    else:
        ok &= check_llama(bert, gguf, binary, extra_args)
    print("check:", "ok" if ok else f"FAILED (bounds: cosine >= {COSINE_MIN}, "
                                    f"max abs <= {MAX_ABS_DIFF})")
    return ok


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gguf", metavar="MODEL.gguf")
    parser.add_argument("out_dir", metavar="OUT_DIR")
    parser.add_argument("--no-token-types", action="store_true",
                        help="embedder without a token_type_ids input (row 0 is added)")
    parser.add_argument("--check", action="store_true",
                        help="compare numpy, the graph (if onnx.reference) and llama.cpp")
    parser.add_argument("--llama-embedding", metavar="BIN",
                        help="llama.cpp's llama-embedding for --check "
                             "(default: ~/.cache/modelrt/llama.cpp-*/build/bin/)")
    parser.add_argument("--llama-arg", action="append", default=[], metavar="ARG",
                        help="extra llama-embedding argument for --check, repeatable "
                             "(e.g. --llama-arg=-fa --llama-arg=off)")
    args = parser.parse_args(argv)
    try:
        bert = Bert(*read_gguf(args.gguf), args.gguf)
        model = write_model_dir(bert, args.out_dir, not args.no_token_types)
        kind = "cross-encoder" if bert.cross_encoder else "embedder"
        print(f"wrote {args.out_dir}: BERT {kind}, E={bert.embd}, {bert.layers} layers, "
              f"{bert.heads} heads, ff={bert.ff}")
        if args.check and not check(model, bert, args.gguf, args.llama_embedding,
                                     args.llama_arg):
            return 1
    except InputError as e:
        print(f"onnx_test_model: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
