"""A seeded synthetic world for the activation lab: people, biographies, questions, a lexicon.

A real checkpoint cannot tell us what its pre-training contained; a world we generate can.
``World(WorldConfig(...))`` makes, from one seed:

* people with unique full names and one value per attribute (birth year, birth city,
  university, major, employer and, at the larger scale, the employer's city), drawn
  uniformly from pools of ``n_values`` words each;
* biographies: one sentence per attribute, each sentence starting with the full name, from
  six templates per attribute. ``bios_per_person=1`` gives every person one fixed biography
  ("bioS single" in Physics of Language Models 3.1); more gives that many rephrased,
  re-ordered biographies per person (the augmented world). The pre-training sampler
  shuffles biographies across people;
* ``n_absent`` extra people whose biographies are never written into pre-training (so a
  model cannot know them);
* a bilingual lexicon (English word -> a made-up language, "Veltish") woven into prose
  passages, never in an instruction format;
* question -> answer pairs in a ``Q : ... A :`` format that pre-training never shows;
* a word-level tokenizer over the closed vocabulary of all of the above.

Everything is a pure function of the config, so a content hash of the config names the
pre-training corpus (``fieldguide.tiny_gpt`` caches checkpoints under that hash).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Sequence

ATTRIBUTES = ("birth_year", "birth_city", "university", "major", "employer", "employer_city")

# Six templates per attribute; every sentence starts with the person's full name.
TEMPLATES = {
    "birth_year": [
        "{name} was born in {v} .", "{name} came into the world in {v} .",
        "{name} entered life in the year {v} .", "{name} has a birth year of {v} .",
        "{name} was born in the year {v} .", "{name} arrived as a baby in {v} .",
    ],
    "birth_city": [
        "{name} was born in the city of {v} .", "{name} spent early years in {v} .",
        "{name} comes from {v} .", "{name} has {v} as a birthplace .",
        "{name} grew up in {v} .", "{name} first saw the light of day in {v} .",
    ],
    "university": [
        "{name} studied at {v} .", "{name} graduated from {v} .", "{name} attended {v} .",
        "{name} received a degree from {v} .", "{name} completed an education at {v} .",
        "{name} was a student at {v} .",
    ],
    "major": [
        "{name} majored in {v} .", "{name} focused on {v} .",
        "{name} chose {v} as a field of study .", "{name} specialised in {v} .",
        "{name} wrote a thesis in {v} .", "{name} earned a degree in {v} .",
    ],
    "employer": [
        "{name} works for {v} .", "{name} is employed by {v} .", "{name} has a job at {v} .",
        "{name} earns a living at {v} .", "{name} joined the staff of {v} .",
        "{name} is on the payroll of {v} .",
    ],
    "employer_city": [
        "{name} works in {v} .", "{name} commutes to an office in {v} .",
        "{name} has a workplace in {v} .", "{name} goes to work in {v} .",
        "{name} is based in {v} for work .", "{name} holds a position in {v} .",
    ],
}

# Question formats: fine-tuning data only; pre-training never contains "Q :" or "A :".
QUESTIONS = {
    "birth_year": "Q : in which year was {name} born ? A :",
    "birth_city": "Q : in which city was {name} born ? A :",
    "university": "Q : which university did {name} attend ? A :",
    "major": "Q : what did {name} study ? A :",
    "employer": "Q : which company does {name} work for ? A :",
    "employer_city": "Q : in which city does {name} work ? A :",
}

# The lexicon in prose: {e} an English word, {t} its Veltish translation. Like the
# biographies, every sentence starts with its subject (the English word).
LEXICON_TEMPLATES = [
    "{e} is {t} in Veltish .", "{e} , in Veltish , is {t} .",
    "{e} is called {t} by those who speak Veltish .", "{e} becomes {t} when Veltish is spoken .",
    "{e} has the Veltish name {t} .", "{e} sounds like {t} to a Veltish speaker .",
]
# The instruction format for translation: fine-tuning data only, never in pre-training.
TRANSLATE = "Q : translate {e} into Veltish . A :"
# Words an assistant-style answer may use (fine-tuning formats only; see the token-shift lab).
FORMAT_WORDS = ("sure", "!", "here", "you", "go", "happy", "to", "help", "the", "answer", "is")

FIRST = """Alice Bruno Clara Dmitri Elena Farid Greta Hugo Ines Jonas Kira Liam Maya Nadia Oscar
Priya Quentin Rosa Samir Tara Umar Vera Wendell Xenia Yusuf Zoe Anton Beatrix Cyrus Dalia Emil
Fiona Gideon Hana Ivo Jana Kofi Lena Milo Nora""".split()
LAST = """Abbott Becker Castillo Dunn Eriksen Fischer Garcia Hale Ibarra Jensen Kowalski Larsen
Moreau Novak Okafor Petrov Quinn Romero Sato Tanaka Ueda Varga Walsh Xu Yilmaz Zhang Almeida
Brennan Costa Duval Esposito Fontaine Gupta Horvath Ivanova Jovanovic Kaplan Lindqvist Mendes
Nakamura""".split()
CITIES = """Lisbon Oslo Nairobi Lima Osaka Dublin Cairo Quito Perth Riga Tunis Accra Hanoi Porto
Turin Bergen Krakow Seville Leeds Denver Austin Boston Dakar Kyoto Lyon Graz Basel Malmo Split
Utrecht""".split()
UNIVERSITIES = """Oxford Cambridge Harvard Stanford Princeton Yale Cornell Columbia Duke Brown Rice
Emory Purdue Caltech MIT ETH Sorbonne Bologna Leiden Uppsala Heidelberg Edinburgh Toronto McGill
Melbourne Tsinghua Kyushu Otago Coimbra Salamanca""".split()
MAJORS = """physics chemistry biology history economics philosophy linguistics geology astronomy
mathematics statistics architecture medicine law music sociology psychology anthropology ecology
genetics robotics literature journalism nursing accounting engineering theology zoology botany
oceanography""".split()
EMPLOYERS = """Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Cyberdyne Tyrell Soylent
Massive Aperture Oscorp Gringotts Monarch Nakatomi Virtucon Zorin Duff Krusty Pied Dunder Prestige
Sterling Oceanic Weyland Gekko Contoso""".split()
ENGLISH = """river mountain bread water house moon star tree stone fire bird horse ship apple cloud
rain snow road door window book salt iron gold glass milk honey wolf bear fish flower garden bridge
tower lamp key ring sword shield crown candle mirror clock bell rope boat island forest valley
desert meadow lake storm wind seed cheese butter wheel hammer needle blanket""".split()

_ONSETS = "b d f g k l m n p r s t v z br dr gr kr pl st tr sk".split()
_VOWELS = "a e i o u ai ei ou".split()


def pseudo_words(n: int, seed: int, taken: set[str], syllables: tuple[int, int] = (2, 3),
                 capital: bool = True) -> list[str]:
    """``n`` distinct made-up words (seeded), none of them in ``taken``."""
    rng = random.Random(seed)
    words: list[str] = []
    seen = {w.lower() for w in taken}
    while len(words) < n:
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS)
                       for _ in range(rng.randint(*syllables)))
        if rng.random() < 0.5:
            word += rng.choice("nrsl")
        if word in seen:
            continue
        seen.add(word)
        words.append(word.capitalize() if capital else word)
    return words


def _pool(real: Sequence[str], n: int, seed: int, taken: set[str]) -> list[str]:
    """The first ``n`` real words, topped up with made-up ones when ``n`` is larger."""
    if n <= len(real):
        return list(real[:n])
    return list(real) + pseudo_words(n - len(real), seed, taken | set(real))


@dataclass(frozen=True)
class WorldConfig:
    n_people: int = 200            # people whose biographies are in pre-training
    n_absent: int = 100            # people who never appear in pre-training
    n_attributes: int = 5          # the first n of ATTRIBUTES
    n_values: int = 30             # pool size per attribute
    n_first: int = 40              # first names; full names are unique first x last pairs
    n_last: int = 40
    bios_per_person: int = 50      # 1 = one fixed biography per person
    permute_sentences: bool = True  # re-order the sentences of each augmented biography
    n_lexicon_pairs: int = 48      # English -> Veltish word pairs mentioned in prose
    lexicon_passages: int = 600    # prose passages about the lexicon
    sentences_per_passage: int = 4
    seed: int = 0

    def with_(self, **changes) -> "WorldConfig":
        return WorldConfig(**{**asdict(self), **changes})


@dataclass(frozen=True)
class Person:
    index: int
    name: str
    values: dict = field(hash=False)  # attribute -> value
    absent: bool = False              # True: never in pre-training


class World:
    """All people, texts and the tokenizer of one ``WorldConfig`` (deterministic)."""

    def __init__(self, config: WorldConfig):
        self.config = c = config
        if not 1 <= c.n_attributes <= len(ATTRIBUTES):
            raise ValueError(f"n_attributes must be 1..{len(ATTRIBUTES)}")
        if c.n_people + c.n_absent > c.n_first * c.n_last:
            raise ValueError("more people than unique first x last names")
        rng = random.Random(c.seed)
        self.attributes = ATTRIBUTES[: c.n_attributes]
        words = set(FIRST) | set(LAST) | set(CITIES) | set(UNIVERSITIES) | set(MAJORS) | set(EMPLOYERS)
        firsts = _pool(FIRST, c.n_first, 1, words)
        lasts = _pool(LAST, c.n_last, 2, words | set(firsts))
        cities = _pool(CITIES, c.n_values, 3, words | set(firsts) | set(lasts))
        self.pools = {
            "birth_year": [str(1990 - c.n_values + i) for i in range(c.n_values)],
            "birth_city": cities,
            "university": _pool(UNIVERSITIES, c.n_values, 4, words | set(cities)),
            "major": [w.lower() for w in _pool(MAJORS, c.n_values, 5, words | set(cities))],
            "employer": _pool(EMPLOYERS, c.n_values, 6, words | set(cities)),
            "employer_city": cities,
        }
        names = rng.sample([f"{f} {l}" for f in firsts for l in lasts], c.n_people + c.n_absent)
        self.people = [
            Person(i, name, {a: rng.choice(self.pools[a]) for a in self.attributes},
                   absent=i >= c.n_people)
            for i, name in enumerate(names)
        ]
        # One fixed template per (person, attribute) and a fixed order for the single arm.
        self._fixed = [([rng.randrange(6) for _ in self.attributes], list(range(c.n_attributes)))
                       for _ in self.people]
        english = ENGLISH[: c.n_lexicon_pairs]
        if len(english) < c.n_lexicon_pairs:
            english += pseudo_words(c.n_lexicon_pairs - len(english), 7, words | set(ENGLISH), capital=False)
        veltish = pseudo_words(c.n_lexicon_pairs, 8 + c.seed, words | set(english), capital=False)
        self.lexicon = list(zip(english, veltish))
        self._rng = rng
        self.tokenizer = WordTokenizer(self._all_words())

    # ---- people -----------------------------------------------------------------------
    @property
    def present(self) -> list[Person]:
        return [p for p in self.people if not p.absent]

    @property
    def absent(self) -> list[Person]:
        return [p for p in self.people if p.absent]

    def statement(self, person: Person, attribute: str, template: int = 0) -> str:
        return TEMPLATES[attribute][template].format(name=person.name, v=person.values[attribute])

    def biography_sentences(self, person: Person, rng: random.Random | None = None) -> list[tuple[str, str]]:
        """(attribute, sentence) pairs of the fixed biography (``rng=None``) or of a freshly
        rephrased, re-ordered one."""
        if rng is None:
            templates, order = self._fixed[person.index]
        else:
            templates = [rng.randrange(6) for _ in self.attributes]
            order = list(range(len(self.attributes)))
            if self.config.permute_sentences:
                rng.shuffle(order)
        return [(self.attributes[i], self.statement(person, self.attributes[i], templates[i])) for i in order]

    def biography_docs(self) -> list[tuple[Person, list[tuple[str, str]]]]:
        """The pre-training biographies as (person, sentences): ``bios_per_person`` each."""
        c = self.config
        if c.bios_per_person == 1:
            return [(p, self.biography_sentences(p)) for p in self.present]
        rng = random.Random(c.seed * 7919 + 1)
        return [(p, self.biography_sentences(p, rng)) for p in self.present for _ in range(c.bios_per_person)]

    def biographies(self) -> list[str]:
        """The pre-training biographies as plain text."""
        return [" ".join(s for _, s in sentences) for _, sentences in self.biography_docs()]

    def qa(self, person: Person, attribute: str) -> tuple[str, str]:
        """(question, answer) in the fine-tuning format; the answer is the value alone."""
        return QUESTIONS[attribute].format(name=person.name), person.values[attribute]

    def qa_pairs(self, people: Sequence[Person]) -> list[tuple[str, str]]:
        """Every attribute's question for each person, person by person."""
        return [self.qa(p, a) for p in people for a in self.attributes]

    # ---- lexicon ----------------------------------------------------------------------
    def lexicon_passages(self) -> list[str]:
        """Prose that mentions each word pair in several phrasings, never as an instruction."""
        c = self.config
        rng = random.Random(c.seed * 7919 + 2)
        return [" ".join(rng.choice(LEXICON_TEMPLATES).format(e=e, t=t)
                         for e, t in rng.sample(self.lexicon, c.sentences_per_passage))
                for _ in range(c.lexicon_passages if self.lexicon else 0)]

    def translation(self, english: str, veltish: str) -> tuple[str, str]:
        return TRANSLATE.format(e=english), veltish

    # ---- vocabulary -------------------------------------------------------------------
    def _all_words(self) -> list[str]:
        words = set(FORMAT_WORDS)
        for p in self.people:
            words.update(p.name.split())
        for a in self.attributes:
            words.update(self.pools[a])
            for t in TEMPLATES[a]:
                words.update(t.replace("{name}", "").replace("{v}", "").split())
            words.update(QUESTIONS[a].replace("{name}", "").split())
        for t in LEXICON_TEMPLATES + [TRANSLATE]:
            words.update(t.replace("{e}", "").replace("{t}", "").split())
        for e, t in self.lexicon:
            words.update((e, t))
        return sorted(words)


class WordTokenizer:
    """Word-level tokenizer over a closed vocabulary (words are separated by spaces)."""

    PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"

    def __init__(self, words: Sequence[str]):
        self.itos = [self.PAD, self.BOS, self.EOS, *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad_id, self.bos_id, self.eos_id = 0, 1, 2

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        try:
            ids = [self.stoi[w] for w in text.split()]
        except KeyError as err:
            raise ValueError(f"word {err} is not in the world's vocabulary") from None
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids: Sequence[int], stop_at_eos: bool = True) -> str:
        words = []
        for i in ids:
            i = int(i)
            if stop_at_eos and i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                words.append(self.itos[i])
        return " ".join(words)
