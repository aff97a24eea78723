"""Text for the tokenizer fixtures: a training text for the tiny vocabularies and the parity corpus.

The training text only shapes the tiny vocabularies (which merges / pieces exist). The parity corpus is
what the TypeScript tokenizers must turn into exactly the ids transformers gives: ordinary prompts plus
the cases tokenizers get wrong — unicode (accents in NFC and NFD, CJK, emoji, fullwidth forms, ligatures,
Greek final sigma, Turkish dotted I, zero-width and odd whitespace), punctuation runs, apostrophes, the
special-token spellings, digits, empty and whitespace-only prompts, and prompts far over every max length.
"""

import random

WORDS = (
    "a an the of in on at with and under over near beside behind above below between through into onto "
    "photo photograph painting drawing sketch render illustration portrait landscape close-up macro wide "
    "shot view scene image picture poster cover still life study concept art digital oil watercolor "
    "cat dog fox owl horse whale dragon robot astronaut knight wizard child woman man girl boy crowd "
    "city street market harbor mountain forest river lake ocean beach desert valley village castle tower "
    "bridge garden field meadow cave island temple library kitchen cafe train station spaceship planet "
    "red orange yellow green blue purple pink black white golden silver grey bright dark soft warm cold "
    "misty foggy rainy snowy sunny cloudy stormy quiet busy ancient modern futuristic cozy tiny huge "
    "light lighting shadow shadows glow neon sunset sunrise morning evening night moon stars sky clouds "
    "cinematic detailed highly intricate sharp focus bokeh depth film grain studio volumetric rays "
    "reflection reflections water glass metal wood stone paper fabric velvet marble rust moss flowers "
    "sitting standing walking running flying reading sleeping dancing holding wearing looking smiling "
    "hat coat scarf umbrella lantern book cup teapot bicycle car boat kite guitar violin candle mirror "
    "style by trending artstation unreal engine octane 4k 8k hdr award winning masterpiece best quality "
    "one two three four five many several small large old young happy sad calm wild strange beautiful"
).split()


def training_text(seed: int = 11, lines: int = 1200) -> list[str]:
    """Sentences over WORDS with some punctuation and digits, for BPE merges and unigram pieces."""
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        n = rng.randint(3, 14)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), str(rng.randint(0, 2048)))
        text = " ".join(words)
        if rng.random() < 0.4:
            text = text.capitalize()
        text += rng.choice(["", ".", ",", "!", "?", " ...", ";"])
        out.append(text)
    # A little non-ASCII so the vocabularies know some of it (the rest must map to <unk>).
    out += ["café crème brûlée naïve façade", "über straße mädchen", "日本 東京 猫", "ñandú año"] * 20
    return out


def _long_prompt(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


HANDWRITTEN = [
    "",
    " ",
    "   ",
    "\t\n",
    "a",
    "A",
    "a photo of a cat",
    "A PHOTO OF A CAT",
    "a photo of a cat ",
    "  a photo of a cat",
    "a  photo   of\ta\ncat",
    "a photo of a cat, highly detailed, 8k, trending on artstation",
    "Astronaut riding a horse on the moon!!!",
    "what's the cat's name? it's Tom; we'll see, they're here, I'm sure, you've won, he'd go",
    "WHAT'S UP? IT'S FINE",
    "rock 'n' roll 'quoted' \"double\" `back`",
    "...!!!???;;;:::---___+++===",
    "(((masterpiece))), [[best quality]], {{ultra detailed}}",
    "<lora:style:0.8> a cat",
    "email me at someone@example.com or visit https://example.com/path?q=1&x=2#frag",
    "#hashtag @mention $100 50% 3.14159 1,000,000 2024-06-01 12:30pm",
    "0123456789",
    "1 2 3 4 5 6 7 8 9 10 11 12 100 1000 10000",
    "x1y2z3 abc123def 4k8k16k",
    "café",
    "cafe\u0301",  # NFD: e + combining acute
    "naïve façade crème brûlée",
    "Straße groß GROSS",
    "İstanbul ıiIİ",
    "ΟΔΟΣ ΟΔΟΣ. σοφός ΣΟΦΟΣ",
    "日本の東京で猫が寝ている",
    "猫 cat 犬 dog",
    "한국어 텍스트",
    "русский текст с котом",
    "العربية نص",
    "עברית",
    "हिन्दी पाठ",
    "ไทย",
    "emoji 🐱🐶🦊 ✨🌙 👩‍🚀 🏳️‍🌈",
    "👍🏽 thumbs",
    "ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ　１２３",
    "ﬁne ﬂower ﬀ",
    "ℌ𝔢𝔩𝔩𝔬 ①②③ ™ ½ ²",
    "zero\u200bwidth\u200cjoiner\u200d",
    "non\u00a0breaking\u2002spaces\u3000ideographic",
    "line\u2028separator\u2029para",
    "tabs\tand\rcarriage\r\nreturns",
    "control\x01\x02\x7fchars",
    "soft\u00adhyphen",
    "\ufeffbom at start",
    "word\ufeffjoined\u0085next\x1cline\u180esep",
    "replacement \ufffd char",
    "a ～ tilde ~ wave",
    "<|startoftext|>",
    "<|endoftext|>",
    "a cat <|endoftext|> a dog",
    "</s>",
    "a cat </s> a dog",
    "<pad> <unk>",
    "<extra_id_0> a cat <extra_id_99>",
    "▁ metaspace ▁▁ char",
    "\u2581leading metaspace",
    "ÀÉÎÕÜ àéîõü ÇÑ",
    "Ǆemo ǅ ǆ",
    "ᏣᎳᎩ",
    "𝓬𝓾𝓻𝓼𝓲𝓿𝓮",
    "a" * 300,
    "ab" * 200,
    "!" * 120,
    "word " * 100,
]


def parity_corpus(seed: int = 23) -> list[str]:
    """At least 200 prompts: the handwritten edge cases, random prompts and over-long prompts."""
    rng = random.Random(seed)
    corpus = list(HANDWRITTEN)
    while len(corpus) < 190:
        n = rng.randint(1, 40)
        words = [rng.choice(WORDS) for _ in range(n)]
        for i in range(len(words)):
            roll = rng.random()
            if roll < 0.08:
                words[i] = words[i].upper()
            elif roll < 0.14:
                words[i] = words[i] + rng.choice([",", ".", "!", "?", ":", ";", "'s", "-"])
            elif roll < 0.17:
                words[i] = str(rng.randint(0, 99999))
        corpus.append(rng.choice(["", " ", "  "]) + " ".join(words) + rng.choice(["", " ", "."]))
    # Over-long: past CLIP's 77, T5's 256/300/512.
    for words in (60, 90, 150, 260, 320, 420, 600, 900):
        corpus.append(_long_prompt(rng, words))
    corpus += [", ".join(_long_prompt(rng, 3) for _ in range(80)), ("a photo of a cat, " * 60).strip()]
    return corpus
