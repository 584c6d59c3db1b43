"""The model's own small CLIP-format BPE vocabulary (same rules as the C# generator's BpeVocabulary)."""
import json
import os

END_OF_WORD = "</w>"
START, END = "<|startoftext|>", "<|endoftext|>"
MAX_LENGTH = 77


def _byte_symbols():
    def self_mapped(b):
        return 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255

    own = [chr(b) for b in range(256) if self_mapped(b)]
    others = [chr(256 + n) for n, _ in enumerate([b for b in range(256) if not self_mapped(b)])]
    return own + others


def _split(word, ranks):
    symbols = list(word)
    symbols[-1] += END_OF_WORD
    while len(symbols) > 1:
        best, best_rank = -1, None
        for i in range(len(symbols) - 1):
            rank = ranks.get((symbols[i], symbols[i + 1]))
            if rank is not None and (best_rank is None or rank < best_rank):
                best, best_rank = i, rank
        if best < 0:
            break
        left, right = symbols[best], symbols[best + 1]
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
                merged.append(left + right)
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


class Vocabulary:
    """Byte symbols, byte symbols with </w>, one token per merge, then start and end of text."""

    def __init__(self, words):
        merges, ranks = [], {}
        for word in (w for w in words if len(w) > 1):
            pieces = _split(word, ranks)
            while len(pieces) > 1:
                ranks[(pieces[0], pieces[1])] = len(merges)
                merges.append((pieces[0], pieces[1]))
                pieces = _split(word, ranks)
        symbols = _byte_symbols()
        tokens = symbols + [s + END_OF_WORD for s in symbols] + [a + b for a, b in merges] + [START, END]
        assert len(set(tokens)) == len(tokens), "two merges produce the same token"
        self.merges, self.ranks, self.tokens = merges, ranks, tokens
        self.ids = {t: i for i, t in enumerate(tokens)}
        for word in words:
            assert _split(word, ranks) == [word + END_OF_WORD], word

    @property
    def bos(self):
        return self.ids[START]

    @property
    def eos(self):
        return self.ids[END]

    def encode(self, text):
        """CLIP-style ids for lowercase ASCII prompts: start, word pieces, end, padded with end to 77."""
        ids = [self.bos]
        for word in text.lower().split():
            ids += [self.ids[p] for p in _split(word, self.ranks)]
        ids = ids[: MAX_LENGTH - 1] + [self.eos]
        return ids + [self.eos] * (MAX_LENGTH - len(ids))

    def write(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(self.ids, f, ensure_ascii=False, separators=(",", ":"))
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            for a, b in self.merges:
                f.write(f"{a} {b}\n")
        special = {"bos_token": START, "eos_token": END, "pad_token": END, "unk_token": END}
        with open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8") as f:
            json.dump(special, f, indent=2)
        config = {
            "add_prefix_space": False, "bos_token": START, "clean_up_tokenization_spaces": True,
            "do_lower_case": True, "eos_token": END, "errors": "replace", "model_max_length": MAX_LENGTH,
            "pad_token": END, "tokenizer_class": "CLIPTokenizer", "unk_token": END,
        }
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
