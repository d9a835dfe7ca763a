"""A tiny random llama model in GGUF, for a real llama.cpp server in the tests.

About 100 KB: one layer, 32-wide, a byte-level vocabulary (every byte is a token, so any text
tokenizes), GLM's special tokens and a GLM-style chat template. The weights are random, so the
tests steer the output with a GBNF grammar that allows exactly one text: what comes out is
then known byte for byte. Nothing is downloaded.

`python tiny_model.py PATH` writes the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

EMBED, HEADS, FFN, CONTEXT = 32, 2, 64, 4096
SPECIALS = ["<|endoftext|>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>"]
TEXT_SPECIALS = ["<think>", "</think>"]  # user-defined: printed as text, as GLM's are

# GLM-4.5+'s template shape: [gMASK]<sop>, a role tag per message, the answer after
# <|assistant|>. Tool calls and reasoning round-trips are left out: the tests need neither.
CHAT_TEMPLATE = (
    "[gMASK]<sop>"
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}<|system|>\n{{ m['content'] }}"
    "{% elif m['role'] == 'user' %}<|user|>\n{{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}<|assistant|>\n{{ m['content'] }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def byte_tokens() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes, in byte order."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    extra = 0
    mapping = {}
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return [mapping[b] for b in range(256)]


def write(path: Path, seed: int = 0) -> Path:
    """Write the model to `path` and return it."""
    import gguf

    rng = np.random.default_rng(seed)
    tokens = [*byte_tokens(), "ab", *SPECIALS, *TEXT_SPECIALS]
    kinds = [gguf.TokenType.NORMAL] * 257
    kinds += [gguf.TokenType.CONTROL] * len(SPECIALS)
    kinds += [gguf.TokenType.USER_DEFINED] * len(TEXT_SPECIALS)
    vocab = len(tokens)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-glm-test")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(EMBED)
    writer.add_block_count(1)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(EMBED // HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(kinds)
    writer.add_token_merges(["a b"])  # the BPE loader wants at least one merge
    eos = tokens.index("<|endoftext|>")
    writer.add_bos_token_id(tokens.index("[gMASK]"))
    writer.add_eos_token_id(eos)
    writer.add_eot_token_id(tokens.index("<|user|>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    def tensor(name: str, *shape: int, ones: bool = False) -> None:
        data = np.ones(shape) if ones else rng.normal(0, 0.02, shape)
        writer.add_tensor(name, data.astype(np.float32))

    tensor("token_embd.weight", vocab, EMBED)
    tensor("output_norm.weight", EMBED, ones=True)
    tensor("output.weight", vocab, EMBED)
    tensor("blk.0.attn_norm.weight", EMBED, ones=True)
    for part in ("q", "k", "v", "output"):
        tensor(f"blk.0.attn_{part}.weight", EMBED, EMBED)
    tensor("blk.0.ffn_norm.weight", EMBED, ones=True)
    tensor("blk.0.ffn_gate.weight", FFN, EMBED)
    tensor("blk.0.ffn_up.weight", FFN, EMBED)
    tensor("blk.0.ffn_down.weight", EMBED, FFN)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
