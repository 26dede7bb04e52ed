"""Word-level helpers and the one-pass corpus analysis behind BM25, idf and spelling repair."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering import idf_table
from assistant.retrieval import top_rows
from assistant.text import (OTHER_LANGUAGE_MIN_WORDS, CorpusTerms, Vocabulary, analyse, other_language, spelled_out,
                            terms, words)

TEXTS = [
    "Call the 24-hour line if your temperature is 38 degrees or higher.",
    "Tocilizumab treats cytokine release syndrome. Fever is the first sign.",
    "Stay within an hour of the centre for four weeks after the infusion.",
    "",
]


def test_analyse_gives_each_texts_terms_and_the_corpus_counts_in_one_pass():
    seen: list[list[str]] = []
    corpus = analyse(iter(TEXTS), seen.append)  # a generator: read once
    assert seen == [terms(t) for t in TEXTS]
    assert corpus.chunks == len(TEXTS)
    expected_df: dict[str, int] = {}
    for text in TEXTS:
        for term in set(terms(text)):
            expected_df[term] = expected_df.get(term, 0) + 1
    assert corpus.document_frequency == expected_df
    all_words = [w for t in TEXTS for w in words(t)]
    assert corpus.word_counts == {w: all_words.count(w) for w in set(all_words)}
    assert corpus.document_frequency["hour"] == 2  # "24-hour" and "an hour", once per text


def test_idf_is_higher_for_rarer_terms():
    idf = idf_table(analyse(TEXTS))
    assert idf["tocilizumab"] > idf["hour"] > 0
    assert math.isclose(idf["hour"], math.log(1 + (4 - 2 + 0.5) / (2 + 0.5)))
    assert idf_table(CorpusTerms(0, {}, {})) == {}


def test_vocabulary_from_counts_matches_vocabulary_from_texts():
    from_texts = Vocabulary(TEXTS)
    from_counts = Vocabulary(counts=analyse(TEXTS).word_counts)
    assert from_counts.counts == from_texts.counts
    assert from_counts.correct("temperatre") == from_texts.correct("temperatre") == "temperature"
    assert from_counts.correct("lupus") == "lupus"  # no near neighbour: left for the evidence check


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.25]), max_size=60), st.integers(0, 70))
def test_top_rows_matches_a_stable_full_sort(scores, n):
    array = np.asarray(scores, dtype=np.float32)
    expected = np.argsort(-array, kind="stable")[:n]
    assert top_rows(array, n).tolist() == expected.tolist()


def test_words_that_frame_a_question_are_not_unknown_topics():
    vocabulary = Vocabulary(["Adequate heart function, for example an LVEF above 40%. ECOG 0-1."])
    assert vocabulary.unknown("LVEF threshold for car-t?") == []
    assert vocabulary.unknown("ECOG cutoff, and the minimum requirements?") == []
    assert vocabulary.unknown("car-t for lupus?") == ["lupus"]  # a topic the text lacks still counts


def test_a_word_of_a_sections_phrasings_is_no_unknown_topic_nor_a_spelling_target():
    text = ["Infection screen: HIV, hepatitis B, hepatitis C, HTLV and syphilis. Tell the team."]
    asked = ["Is syphilis serology part of the CAR-T screen?\nwat tests will i hav"]
    assert Vocabulary(text).unknown("which infection serologies are done?") == ["serologies"]
    vocabulary = Vocabulary(text, asked=asked)
    assert vocabulary.unknown("which infection serologies are done?") == []  # serology: how people ask
    assert vocabulary.unknown("car-t for lupus?") == ["lupus"]
    assert "hav" not in vocabulary and "wat" not in vocabulary  # a phrasing's slip is no word to mend to


def test_a_medicine_the_documents_never_name_is_found_by_its_stem():
    vocabulary = Vocabulary(["Tocilizumab treats CRS. Fludarabine and cyclophosphamide come first. Obe-cel is split."])
    assert vocabulary.medicines_unnamed("glofitamab or epcoritamab instead of CAR-T?") == ["glofitamab", "epcoritamab"]
    assert vocabulary.medicines_unnamed("Recent bendamustine - washout before apheresis?") == ["bendamustine"]
    assert vocabulary.medicines_unnamed("is zevor-cel like obe-cel?") == ["zevor-cel"]  # as typed
    # A medicine the documents name, a slip of one, shorthand for one, and words of no medicine: none.
    assert vocabulary.medicines_unnamed("tocilizumib or toci for CRS, after fludarabine?") == []
    assert vocabulary.medicines_unnamed("can I cancel my appointment or is that a problem?") == []


def test_everyday_words_are_never_mended_into_corpus_words():
    vocabulary = Vocabulary(["You may be able to go home. Tell the team about your life at home."])
    assert vocabulary.correct("bed") == "bed" and vocabulary.correct("wife") == "wife"  # not "be", "life"
    assert vocabulary.correct("hoem") == "home"  # a slip is still mended
    assert terms("whats the part b for") == terms("what the part b for")  # a contraction is a stopword


def test_a_long_word_with_two_slips_is_mended_a_short_one_is_not():
    vocabulary = Vocabulary(["Your specialist has referred you. The team will review the referral."])
    assert vocabulary.correct("reffered") == "referred"
    assert vocabulary.correct("refrral") == "referral"
    assert vocabulary.correct("tema") == "team"  # one swap, short word
    assert vocabulary.correct("xyzteam") == "xyzteam"  # nothing within reach


def test_uk_words_for_the_same_thing_give_one_term():
    assert terms("should i ring the team") == terms("should i call the team")
    assert terms("chemo before the jab") == terms("chemotherapy before the vaccine")


@pytest.mark.parametrize("message, language", [
    ("Mój mąż jest zdezorientowany i nie wie, gdzie jest", "pl"),
    ("Soțul meu este confuz și nu știe unde se află", "ro"),
    ("Ele está com febre e muito confuso", "pt"),
    ("¿Cuándo puedo volver a conducir después del CAR-T?", "es"),
    ("Mano vyras sutrikęs ir nežino, kur jis yra", "lt"),
    ("Il a de la fièvre depuis ce matin et il tremble", "fr"),
    ("Mio marito è confuso e non sa dove si trova", "it"),
    ("Mein Mann ist verwirrt und weiß nicht, wo er ist", "de"),
    ("Kocam çok uykulu ve uyanmıyor", "tr"),
])
def test_a_message_in_another_latin_script_language_is_told_apart(message, language):
    assert other_language(message) == language


@pytest.mark.parametrize("message", [
    "when can I drive again after CAR-T?",
    "hubbys propa muddled 2day dunno wot day it is",
    "wot do u get given b4 the cells go in",
    "my wifes temp is 38.2 and shes shivrin",
    "Mum's confused, she keeps saying 'nie wiem' and doesn't know where she is",
    "",
    # short replies and greetings that other languages use more often than English does
    "bye", "hi", "ok ta", "no no no", "hm ok", "thank you", "ok thanks bye",
])
def test_english_however_written_is_english(message):
    assert other_language(message) is None


def test_the_corpus_words_are_english_in_a_clinicians_shorthand():
    # "liso-cel TA?" reads as another language by frequency alone; the corpus's own words say otherwise.
    assert other_language("liso-cel TA?") is not None
    assert other_language("liso-cel TA?", known={"liso", "cel", "ta"}) is None


def test_a_blind_set_of_messages_in_other_languages_and_in_english():
    # Written by a helper who never ran the assistant (tests/fixtures/languages.yaml). Languages
    # wordfreq has no word list for (Albanian, Somali, Welsh, Swahili, Estonian) cannot be told
    # apart, nor a message of two words ("Tengo fiebre": triage reads its fever); every other
    # one must be, and no English message may be.
    data = yaml.safe_load((Path(__file__).parent / "fixtures" / "languages.yaml").read_text(encoding="utf-8"))
    unknown = {"Albanian", "Somali", "Welsh", "Swahili", "Estonian"}
    covered = [m["text"] for m in data["other_language"] if m["lang"] not in unknown
               and len(set(m["text"].lower().split())) >= OTHER_LANGUAGE_MIN_WORDS]
    assert len(covered) >= 50 and len(data["english"]) >= 50
    assert [m for m in covered if other_language(m) is None] == []
    assert [m for m in data["english"] if other_language(m) is not None] == []


@pytest.mark.parametrize("typed, plain", [
    ("wot do u get given b4 the cells go in", "what do you get given before the cells go in"),
    ("Wats IVIG? n how long r u on it", "what's IVIG? and how long r you on it"),
    ("me n my wife cant make the appt 2moro", "me and my wife cant make the appointment tomorrow"),
])
def test_texting_shorthand_is_spelled_out(typed, plain):
    assert spelled_out(typed) == plain


@pytest.mark.parametrize("text", ["r/r DLBCL 2 lines, HR 120 on the monitor", "IM injection, min 3 days",
                                  "car-t in the u.k.", "N=20 pts", "wk-2 bloods", "ur-", "CAR-U"])
def test_shorthand_is_only_spelled_out_as_a_whole_word_with_one_reading(text):
    """A clinician's "r/r" (relapsed or refractory), a heart rate's "HR" and parts of a term stay."""
    assert spelled_out(text) == text
