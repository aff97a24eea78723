"""Tiny tokenizers in the real on-disk formats, and the ids transformers gives for the parity corpus.

No real vocabulary can be downloaded, so the vocabularies are trained here on prompt_corpus's training
text, then written exactly as the released checkpoints lay them out:
  clip           FLUX.1 / SD3 `tokenizer/`: vocab.json + merges.txt + configs, NO tokenizer.json
                 (vocab order as OpenAI CLIP: 256 byte symbols, the same with </w>, one per merge, specials)
  clip-pad-bang  SD3 `tokenizer_2/` (CLIP-G): the same files with pad_token "!"
  t5             FLUX.1 `tokenizer_2/` / SD3 `tokenizer_3/`: spiece.model + tokenizer.json + configs
  t5-spiece      PixArt-Σ `tokenizer/`: spiece.model + configs only
Each folder is loaded back with transformers' AutoTokenizer before any golden is taken.

Goldens: for each (tokenizer, max_length, preprocessing) the calling convention of the Diffusers pipeline
that uses it (padding="max_length", truncation=True): `ids` holds the ids before the padding (the padded
tail is checked here to be pad_id only, so nothing is lost) and `attention` the count of ones in the mask.
"""

import io
import json
import shutil
from pathlib import Path

import sentencepiece as spm
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer, CLIPTokenizer, T5Tokenizer

from prompt_corpus import parity_corpus, training_text

CLIP_MERGES = 600
T5_PIECES = 300
T5_EXTRA_IDS = 100
CLIP_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

# (name, folder, max_length, preprocessing, which pipeline calls it so)
SETTINGS = [
    ("flux-clip-77", "clip", 77, "none", "FluxPipeline tokenizer (CLIP-L), SD3 tokenizer"),
    ("flux-t5-512", "t5", 512, "none", "FluxPipeline tokenizer_2, max_sequence_length 512 (dev default)"),
    ("flux-t5-256", "t5", 256, "none", "FluxPipeline tokenizer_2, max_sequence_length 256 (schnell)"),
    ("sd3-clip-g-77", "clip-pad-bang", 77, "none", "StableDiffusion3Pipeline tokenizer_2 (CLIP-G, pad '!')"),
    ("sd3-t5-256", "t5", 256, "none", "StableDiffusion3Pipeline tokenizer_3, max_sequence_length 256"),
    ("pixart-t5-300", "t5-spiece", 300, "lower-strip", "PixArtSigmaPipeline tokenizer, 300, clean_caption off"),
]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character map, which CLIP's vocabulary is written in."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def train_clip_bpe(texts: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    tok = Tokenizer(models.BPE(unk_token="<|endoftext|>", end_of_word_suffix="</w>", continuing_subword_prefix=""))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=100_000,
        limit_alphabet=1000,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        end_of_word_suffix="</w>",
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    merges = [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]][:CLIP_MERGES]
    # OpenAI CLIP's order: byte symbols, byte symbols + </w>, one entry per merge, then the specials.
    symbols = list(bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    if len(set(vocab_list)) != len(vocab_list):
        raise AssertionError("CLIP vocabulary has duplicates")
    return {t: i for i, t in enumerate(vocab_list)}, merges


def write_clip_folder(folder: Path, vocab: dict[str, int], merges: list[tuple[str, str]], pad_token: str) -> None:
    """vocab.json + merges.txt + tokenizer_config.json + special_tokens_map.json (no tokenizer.json)."""
    staging = folder.with_name(folder.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    CLIPTokenizer(vocab=vocab, merges=merges, pad_token=pad_token, model_max_length=77).save_pretrained(staging)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    config = json.loads((staging / "tokenizer_config.json").read_text())
    for leaked in ("is_local", "local_files_only"):
        config.pop(leaked, None)
    config["tokenizer_class"] = "CLIPTokenizer"
    config["model_max_length"] = 77
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    special = {
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": pad_token,
        "unk_token": "<|endoftext|>",
    }
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    shutil.rmtree(staging)


def train_t5_spiece(texts: list[str]) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type="unigram",
        vocab_size=T5_PIECES,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        character_coverage=1.0,
        num_threads=1,
        seed_sentencepiece_size=10_000,
        minloglevel=2,
    )
    return model.getvalue()


def write_t5_folder(folder: Path, spiece: bytes, with_tokenizer_json: bool) -> None:
    staging = folder.with_name(folder.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "spiece.model").write_bytes(spiece)
    T5Tokenizer.from_pretrained(staging, extra_ids=T5_EXTRA_IDS, model_max_length=512).save_pretrained(staging)
    folder.mkdir(parents=True, exist_ok=True)
    keep = ["spiece.model", "tokenizer_config.json", "special_tokens_map.json"]
    if with_tokenizer_json:
        keep.append("tokenizer.json")
    for name in keep:
        source = staging / name
        if name == "special_tokens_map.json" and not source.exists():
            special = {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
            (folder / name).write_text(json.dumps(special, indent=2) + "\n")
            continue
        if name == "tokenizer_config.json":
            config = json.loads(source.read_text())
            for leaked in ("is_local", "local_files_only"):
                config.pop(leaked, None)
            (folder / name).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
            continue
        shutil.copyfile(source, folder / name)
    shutil.rmtree(staging)


def build_tokenizers(out: Path) -> dict[str, Path]:
    texts = training_text()
    vocab, merges = train_clip_bpe(texts)
    folders = {
        "clip": out / "clip",
        "clip-pad-bang": out / "clip-pad-bang",
        "t5": out / "t5",
        "t5-spiece": out / "t5-spiece",
    }
    write_clip_folder(folders["clip"], vocab, merges, pad_token="<|endoftext|>")
    write_clip_folder(folders["clip-pad-bang"], vocab, merges, pad_token="!")
    spiece = train_t5_spiece(texts)
    write_t5_folder(folders["t5"], spiece, with_tokenizer_json=True)
    write_t5_folder(folders["t5-spiece"], spiece, with_tokenizer_json=False)
    return folders


def preprocess(text: str, how: str) -> str:
    if how == "lower-strip":  # PixArt's _text_preprocessing with clean_caption off (no bs4/ftfy)
        return text.lower().strip()
    return text


def encode(tokenizer, prompts: list[str], max_length: int) -> dict:
    """What the pipelines call: padding to max_length, truncation, special tokens."""
    enc = tokenizer(prompts, padding="max_length", max_length=max_length, truncation=True, add_special_tokens=True)
    pad_id = tokenizer.pad_token_id
    ids, lengths = [], []
    for row, mask in zip(enc["input_ids"], enc["attention_mask"]):
        if len(row) != max_length:
            raise AssertionError(f"padded row has {len(row)} ids, expected {max_length}")
        length = sum(mask)
        if mask != [1] * length + [0] * (max_length - length) or row[length:] != [pad_id] * (max_length - length):
            raise AssertionError("padding is not a right-aligned run of pad ids")
        ids.append(row[:length])
        lengths.append(length)
    return {"pad_id": pad_id, "ids": ids, "attention": lengths}


def tokenizer_goldens(folders: dict[str, Path], root: Path) -> dict:
    corpus = parity_corpus()
    loaded = {name: AutoTokenizer.from_pretrained(folder) for name, folder in folders.items()}
    for name, tok in loaded.items():
        expected = CLIPTokenizer if name.startswith("clip") else T5Tokenizer
        if not isinstance(tok, expected):
            raise AssertionError(f"{name}: AutoTokenizer gave {type(tok).__name__}, expected {expected.__name__}")
    settings = []
    for name, folder, max_length, how, used_by in SETTINGS:
        prompts = [preprocess(p, how) for p in corpus]
        settings.append(
            {
                "name": name,
                "folder": str(folders[folder].relative_to(root)),
                "max_length": max_length,
                "preprocessing": how,
                "used_by": used_by,
                **encode(loaded[folder], prompts, max_length),
            }
        )
    return {
        "corpus": corpus,
        "call": 'tokenizer(prompts, padding="max_length", max_length=M, truncation=True, add_special_tokens=True)',
        "ids_note": "ids before the padding; the padded tail is pad_id, attention = number of ones in the mask",
        "vocab": {name: len(tok) for name, tok in loaded.items()},
        "settings": settings,
    }
