"""Stage 7, the chain: one question in, one `Answer` out. The CLI, the web page and the
evaluation suite all call `Assistant.ask`.

Order of decisions:
1. Triage on the message itself: a red flag gets the urgent instruction first, always (a
   clinician telling of their patient: contact the CAR-T team, then the answer to what they
   asked, when the documents give one).
2. Attempts to change the instructions are refused.
3. Retrieval (with the previous question for a follow-up) and an evidence check: weak
   evidence is refused with where to ask instead; nothing is guessed.
4. Personal medical advice is redirected to the care team, with general information
   only where the approved documents have it.
5. Otherwise the grounded answer: cited sentences from the approved passages; or, when the
   model cannot tell two sections apart and is unsure of both, the question back "which of
   these do you mean?", whose reply (a number or an option's words) gets that section.
"""

from __future__ import annotations

import itertools
import re
import time
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

import numpy as np

from . import values
from .answer_model import SURE_PROBABILITY, AnswerModel
from .answering import MIN_EVIDENCE, Composition, GroundedAnswerer, SectionAnswerer, combine, idf_table
from .boundaries import Boundaries
from .embedding import build_embedder, read_message, whole_encoded
from .errors import UsageError
from .records import Answer, Passage, Triage, Turn
from .retrieval import (HybridRetriever, RetrievalQuery, asking_part, build_query, in_date, leaning_query,
                        question_parts, section_key, today_iso)
from .store import IndexStore
from .text import Vocabulary, does_for_dose, other_language, other_language_words, plain_quotes, spelled_out, terms
from .triage import Triager, meaning_texts
from .triage_veto import MessageLayers

MAX_QUESTION_CHARS = 2000
DEFAULT_ANSWER_MODEL = Path(__file__).resolve().parent.parent / "calibration" / "answer-model.json"
AUDIENCES = {"patient": "patient", "carer": "patient", "clinician": "clinician"}
# Markup and template expressions ("{{7*7}}", "${7*7}", "{% ... %}"): code, never part of a question.
_TAG = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>|<[^<>]{0,200}>"
                  r"|\{\{[^{}]{0,200}\}\}|\$\{[^{}]{0,200}\}|\{%[^{}]{0,200}%\}", re.I | re.S)
_PHONE = re.compile(r"\b0\d{3,4} ?\d{3} ?\d{3,4}\b")
_GIVES_ACTION = re.compile(r"24-hour|\b999\b", re.I)

REFUSAL_WEAK = "The approved information I can use does not cover this question, so I can't answer it."
# The question asks for a value of one kind (values.py) and the section that answers its topic holds none.
REFUSAL_VALUE = "The approved information I can use does not give {what}, so I can't answer this question."
# The question names a medicine no approved document names (text.MEDICINE_STEM): whatever
# section was found is about something else.
REFUSAL_UNNAMED = "The approved information I can use does not mention {names}, so I can't answer this question."
REFUSAL_UNREADABLE = "I can only read questions in English, so I can't answer this one."
# The 999 situations in one sentence: in every urgent reply for the 24-hour line, and to a patient
# or carer whose message cannot be read (it may be telling of an emergency).
CALL_999 = "Call 999 for a fit, a collapse, severe difficulty breathing, or if the person cannot be woken."
# A clinician seeing a patient with a 999 situation may already be in emergency care (A&E).
CLINICIAN_999 = ("**Treat this as an emergency: call 999 unless the patient is already in emergency care.** "
                 "Then contact {team}.")
# What grounds a clinician's urgent reply: the documents' sentence on whom clinicians contact.
CLINICIAN_CONTACT = ("doctors, nurses and A&E teams seeing a patient with a CAR-T alert card contact the CAR-T team "
                     "on the 24-hour line")
# Before the answer to a clinician's own question, in a reply that opens with the team's line.
CLINICIAN_ASKED = "On what you asked, from the approved documents:"
CLINICIAN_ASKED_UNSURE = ("The closest approved information to what you asked (it may not answer it exactly: "
                          "check the source):")
REFUSAL_OVERRIDE = ("I can only answer questions from the service's approved documents, "
                    "and I can't change how I work.")
REFUSAL_PERSONAL = {
    "patient": "I can't give advice about your own treatment, such as doses, stopping medicines or "
               "what will happen to you. Your CAR-T team knows your situation: please ask them.",
    "clinician": "Decisions about an individual patient's treatment, such as doses or prognosis, "
                 "are for the patient's CAR-T consultant and local protocol, not this assistant.",
}
GENERAL_INFO = "General information from the approved documents:"
# Two sections close in the answer model's eyes, neither sure: the reader is asked which one they
# mean (`_close_sections`), each by its heading and document, and answers with its number.
CLARIFY_INTRO = "I'm not sure which of these you are asking about:"
CLARIFY_ASK = "Reply with its number, or ask again in other words."
_OPTION_LINE = re.compile(r"^\s*(\d)\.\s+(.+?)\s*$", re.M)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "one": 1, "two": 2, "three": 3}
_CHOICE = re.compile(r"^\s*(?:(?:number|option|the)\s*)?(?P<n>[1-9]|first|second|third|one|two|three)"
                     r"(?:\s*one)?\s*(?:please)?\s*[.!)]?\s*$", re.I)
UNWELL_NOW = "If you or the person you care for feel unwell now, call the CAR-T 24-hour line{on}."
# A message that only greets, thanks or says goodbye is answered in kind (status "social"), never
# from the documents and never as "not covered". It is triaged first, as any message is: "thanks,
# but he's burning up now" is urgent.
SOCIAL_REPLIES = {
    "greeting": "Hello. Ask me a question about CAR-T therapy and I will answer it from the service's approved documents.",
    "thanks": "You're welcome. Ask another question whenever you like.",
    "goodbye": "Goodbye.",
}
SOCIAL_LINE = "If you or the person you care for feel unwell, call the CAR-T 24-hour line{on}."
_SOCIAL_ANCHORS = {
    "thanks": {"thanks", "thank", "thankyou", "ta", "cheers", "thx", "ty", "tysm"},
    "goodbye": {"bye", "goodbye", "byee", "cya", "goodnight", "night", "nite"},
    "greeting": {"hi", "hello", "hiya", "hey", "heya", "morning", "afternoon", "evening"},
}
_SOCIAL_WORDS = set().union(*_SOCIAL_ANCHORS.values()) | set(
    "good there all everyone you so much very a lot lots many that thats that's was is it really great helpful "
    "brilliant lovely perfect ok okay for your the help just x xx xxx again oh ah right fab amazing super kind "
    "useful see later soon take care and".split())
SOCIAL_MAX_WORDS = 8


@dataclass(frozen=True)
class Evidence:
    """How well the best passages fit: meaning (cosine) and the question's own words (idf-weighted)."""

    similarity: float
    coverage: float
    unknown: tuple[str, ...] = ()

    @property
    def enough(self) -> bool:
        if self.unknown and self.coverage < 0.55:
            return False  # the question's own topic is not in the approved documents
        return (self.similarity >= MIN_EVIDENCE
                or (self.similarity >= MIN_EVIDENCE - 0.07 and self.coverage >= 0.5 and not self.unknown)
                or (self.similarity >= MIN_EVIDENCE - 0.16 and self.coverage >= 0.75))


@dataclass(frozen=True)
class _Safety:
    """Grounding for the fixed lines: the 24-hour number and the passages that say it."""

    phone: str | None
    urgent_passages: tuple[Passage, ...]


def corpus_vocabulary(retriever) -> Vocabulary:
    """The corpus's words for spelling repair, and its sections' phrasings as topics it covers."""
    return Vocabulary(counts=retriever.corpus_terms.word_counts,
                      asked={c.questions for c in getattr(retriever, "chunks", None) or () if c.questions})


def normalise_question(question: str) -> str:
    if not isinstance(question, str):
        raise UsageError("the question must be text")
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in question)
    cleaned = plain_quotes(cleaned)  # a phone's "he’s" is "he's" to triage and the word search
    cleaned = " ".join(cleaned.split())
    while True:  # markup is not part of a question; removing a tag can join two halves of another
        stripped = " ".join(_TAG.sub(" ", cleaned).split())
        if stripped == cleaned:
            break
        cleaned = stripped
    cleaned = does_for_dose(spelled_out(cleaned))  # "wot do u get b4", "how dose car t work for my mum"
    if not cleaned:
        raise UsageError("the question is empty: type a question")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise UsageError(f"the question is too long ({len(cleaned):,} characters): keep it under {MAX_QUESTION_CHARS:,}")
    return cleaned


def normalise_history(history: Iterable) -> tuple[Turn, ...]:
    turns = []
    for item in history or ():
        turn = item if isinstance(item, Turn) else Turn(role=item.get("role"), content=item.get("content", ""))
        if turn.role not in ("user", "assistant") or not isinstance(turn.content, str):
            raise UsageError("history turns need a role of 'user' or 'assistant' and text content")
        turns.append(Turn(turn.role, turn.content[:MAX_QUESTION_CHARS]))
    return tuple(turns[-10:])


class Assistant:
    def __init__(self, retriever: HybridRetriever, embedder, *, answerer: GroundedAnswerer | None = None,
                 generator=None, triager: Triager | None = None, boundaries: Boundaries | None = None,
                 model: AnswerModel | None = None, answer_mode: str = "section"):
        self.retriever = retriever
        self.triager = triager or Triager.from_file(embedder=embedder)
        self.boundaries = boundaries or Boundaries.from_file(embedder=embedder)
        self.generator = generator
        self.model = model or AnswerModel.load(DEFAULT_ANSWER_MODEL)
        self.answer_mode = answer_mode
        self.embedder = embedder
        self.answerer = answerer or GroundedAnswerer(idf_table(retriever.corpus_terms))
        self.sections = SectionAnswerer(retriever, self.answerer.idf)
        self.vocabulary = corpus_vocabulary(retriever)
        other_language_words()  # read at start-up (0.4 s), not on the first message
        self._safety: dict[tuple[str | None, str, str], _Safety] = {}
        self._where: dict[tuple[str | None, str, str], Composition] = {}
        self._last_refresh = 0.0

    @classmethod
    def from_settings(cls, settings, *, embedder=None, model: AnswerModel | None = None) -> "Assistant":
        from .generative import GenerativeAnswerer

        embedder = embedder or build_embedder(settings)
        store = IndexStore.connect(settings)
        from .indexing import saved_folder

        retriever = HybridRetriever(store, embedder, mode=settings.retrieval_mode, top_k=settings.top_k,
                                    saved_dir=saved_folder(settings))
        return cls(retriever, embedder,
                   generator=GenerativeAnswerer.from_settings(settings),
                   triager=Triager.from_file(settings.red_flags_file, embedder, settings.triage_veto_file),
                   boundaries=Boundaries.from_file(settings.boundaries_file, embedder),
                   model=model or AnswerModel.load(settings.answer_model_file), answer_mode=settings.answer_mode)

    # -- public ------------------------------------------------------------------
    def ask(self, question: str, audience: str = "patient", history: Iterable = ()) -> Answer:
        started = time.perf_counter()
        question = normalise_question(question)
        if audience not in AUDIENCES:
            raise UsageError(f"unknown audience '{audience}': use patient or clinician")
        audience = AUDIENCES[audience]
        turns = normalise_history(history)
        self._refresh()
        answer = self._decide(question, audience, turns)
        return replace(answer, latency_ms=(time.perf_counter() - started) * 1000)

    def as_runnable(self):
        """The whole pipeline as a LangChain Runnable: {"question", "audience"?, "history"?} -> Answer."""
        from langchain_core.runnables import RunnableLambda

        def run(inputs: dict) -> Answer:
            return self.ask(inputs["question"], inputs.get("audience", "patient"), inputs.get("history", ()))

        return RunnableLambda(run, name="cart_assistant")

    def as_retriever(self, audience: str = "patient"):
        from .retrieval import langchain_retriever

        return langchain_retriever(self.retriever, audience=audience, k=self.retriever.top_k)

    # -- decisions ---------------------------------------------------------------
    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._last_refresh < 2.0:
            return
        self._last_refresh = now
        if self.retriever.refresh():
            self.answerer = GroundedAnswerer(idf_table(self.retriever.corpus_terms))
            self.sections = SectionAnswerer(self.retriever, self.answerer.idf)
            self.vocabulary = corpus_vocabulary(self.retriever)
            self._safety.clear()
            self._where.clear()

    def _decide(self, question: str, audience: str, turns: tuple[Turn, ...]) -> Answer:
        option = self._chosen_option(question, turns)
        if option is not None:
            # The reply to "which of these ...?" (a number, or the words of a section offered: the
            # assistant's own, so not triaged again; the question was triaged when it was asked):
            # that section, for the question asked.
            return replace(self._option_answer(*option, audience),
                           triage=Triage(False, reason="a choice among the sections offered"))
        query = build_query(question, turns)
        # The message's own meaning, from one encode (packed in one pass): each sentence's vector
        # for triage, then the whole message's (a long one's pooled from its sentences,
        # `encode_message`), which is also what it is searched by. Spelling repair and word
        # variants (`search_text`) are for the word search. A follow-up is searched by meaning
        # with the earlier turn it leans on, so its search text is encoded too.
        # Without triage's meaning net, the whole message alone is encoded. Triage and the
        # boundaries read these vectors as they are; the search and the answer read them mapped
        # by the index's adapter (adapter.py), as the index was.
        # The scope classifier's reading of the whole message (its layers) comes from the same pass.
        reads = self.triager.embedder is not None
        texts = meaning_texts(question)
        if reads:
            meaning, layers = read_message(self.embedder, texts, layers=self.model.reads_scope(self.embedder))
        else:
            meaning, layers = self.embedder.encode(texts[-1:]), None
        search_text, vector = self._searched(query, meaning)
        # The whole message's own layers are what triage's message classifier reads: passed on,
        # they spare it a second pass over the message. A long message's, pooled from its
        # sentences', spare it that pass where they settle its verdict (`Veto.pooled_side`).
        own = (MessageLayers(texts[-1], layers, pooled=not whole_encoded(self.embedder, texts))
               if layers is not None else None)
        triage = self.triager.assess(question, vectors=meaning if reads else None, audience=audience, layers=own)
        if triage.urgent and audience == "patient":
            return replace(self._urgent(question, triage.emergency, audience), triage=triage)
        reply = self._reply(question, audience, turns, query, search_text, vector, meaning, layers)
        if triage.urgent:
            # A clinician telling of a patient with a red flag now: the CAR-T team's line first,
            # then the answer to what they asked (a grade, a threshold), when the documents give one.
            return replace(self._urgent(question, triage.emergency, audience, then=reply), triage=triage)
        return replace(reply, triage=triage)

    def _reply(self, question: str, audience: str, turns: tuple[Turn, ...], query, search_text: str,
               vector: np.ndarray, meaning: np.ndarray, layers) -> Answer:
        """The reply to a message that tells of no red flag (or a clinician's, whose red flag is
        answered with the team's line first): in kind, refused as unreadable, or from the documents."""
        kind = social_kind(question)
        if kind is not None:
            return self._social(kind, audience)
        if _unreadable(question, self.vocabulary):
            # Whether it tells of someone unwell cannot be read: a patient or carer gets the
            # 24-hour line with its number, and 999, whatever it says.
            patient = audience == "patient"
            return self._refusal(REFUSAL_UNREADABLE, audience, unwell_now=patient, also=CALL_999 if patient else None)
        # How much the message looks like those the documents are not for (scope.py), for every
        # search below.
        refuse_like = self.model.refuse_like(layers)
        answer = self._answer(question, audience, turns, query, search_text, vector, meaning, refuse_like)
        if not query.follow_up and _unanswered(answer):
            # A question that cannot be answered alone may lean on the conversation without saying
            # so ("what number counts as too high?" after a question about checking temperatures):
            # it is asked again with the previous question, as a follow-up is, and that answer is
            # given if the model decides on one (or asks which of two sections is meant).
            leaning = leaning_query(question, turns)
            if leaning is not None:
                again = self._answer(question, audience, turns, leaning, *self._searched(leaning, meaning), meaning,
                                     refuse_like)
                if again.status in ("answered", "clarify"):
                    answer = replace(again, decision={**(again.decision or {}), "leaned_on_conversation": True})
        if not query.follow_up and _unanswered(answer) and (asked := asking_part(question)) is not None:
            # What the message tells around its question ("... my wife wants to sit with me for
            # it", "trying to sort the dog sitter") can pull the search away from what it asks:
            # unanswered as a whole, its asking sentences are asked alone. A second try is a
            # second chance to be wrong: its answer is given only when the model gives it more
            # than an even chance (SURE_PROBABILITY), not merely the threshold. Close to two
            # sections, it asks which one is meant: the reader chooses, nothing is asserted.
            alone, own = self.embedder.encode([asked]), RetrievalQuery(asked, False)
            again = self._answer(asked, audience, turns, own, *self._searched(own, alone), alone, refuse_like)
            if (again.status == "answered" and again.sure) or again.status == "clarify":
                answer = replace(again, decision={**(again.decision or {}), "asked_alone": asked})
        return answer

    def _searched(self, query, meaning: np.ndarray) -> tuple[str, np.ndarray]:
        """What a query is searched by: its spelling-repaired text (for the word search) and its
        vector, mapped by the index's adapter: the message's own (`meaning`'s last), or for a
        follow-up, searched with the earlier turn it leans on, its search text's."""
        search_text = self.vocabulary.correct_text(query.text)
        vector = self.embedder.encode([search_text])[0] if query.follow_up else meaning[-1]
        return search_text, self.retriever.adapt(vector)

    def _answer(self, question: str, audience: str, turns: tuple[Turn, ...], query, search_text: str,
                vector: np.ndarray, meaning: np.ndarray, refuse_like: float | None = None) -> Answer:
        """`meaning`: the message's vectors from `_decide` (its sentences' and its whole's, or
        the whole's alone when triage reads no meaning); `refuse_like`: the scope classifier's
        probability for the message (`AnswerModel.refuse_like`; None unread)."""
        whole = meaning[-1]
        now = audience == "patient" and self.triager.describes_now(question)  # refusals still give the line
        if self.boundaries.crossed(question, whole, only=("override",)):
            return self._refusal(REFUSAL_OVERRIDE, audience, unwell_now=now)

        passages = self.retriever.search(search_text, audience=audience, query_vector=vector)
        evidence = self._evidence(vector, passages, self.vocabulary.correct_text(question),
                                  self.vocabulary.correct_text(query.text[: -len(question)]) if query.follow_up else "")
        context = query.text[: -len(question)] if query.follow_up else ""
        typed = question
        question = self.vocabulary.correct_text(question) if not self.vocabulary.unknown(question) else question
        personal = self.boundaries.crossed(typed, whole, also=(question,), only=("personal-advice",))
        if self.answer_mode == "sentences":
            return self._sentences_answer(question, audience, passages, evidence, context, personal, now)

        # A follow-up was searched with the previous question ("when can I drive?" + "and if I
        # had confusion?"); its sections are judged by both, its own words counting twice.
        judged = _unit(FOLLOW_UP_CONTEXT_WEIGHT * vector + self.retriever.adapt(whole)) if query.follow_up else vector
        pick = self._pick(question, judged, passages, evidence, context, audience, follow_up=query.follow_up)
        decision = pick.decision(self.model.threshold)
        chosen = pick.chosen(self.model.threshold)
        if personal:
            general = self.sections.compose(chosen, question) if chosen is not None else None
            decision["boundary"] = "personal-advice"
            return replace(self._refusal(REFUSAL_PERSONAL[audience], audience, general=general, passages=passages,
                                         unwell_now=now), decision=decision)
        # The evidence's unknown words are the question's (spelling repairs leave them as typed).
        unnamed = self.vocabulary.medicines_unnamed(typed, evidence.unknown)
        if unnamed:
            decision["unnamed_medicines"] = unnamed
            return replace(self._refusal(REFUSAL_UNNAMED.format(names=_listed(unnamed)), audience, passages=passages,
                                         unwell_now=now), decision=decision)
        if refuse_like is not None:
            decision["refuse_like"] = round(refuse_like, 4)
        parts = [] if query.follow_up else self._parts(typed, audience)
        if len(parts) >= 2 and len({section.key for _, _, section in parts}) == len(parts):
            # Two questions in one message, each answered by its own section: both, in the order asked.
            decision["parts"] = [{"question": q, **p.decision(self.model.threshold)} for q, p, _ in parts]
            quoted, said = [], ()
            for q, p, section in parts:  # in turn: a later section is not quoted for what an earlier one said
                composition, then = self._quote(section, p.ranked, q, p.vector, audience, said)
                quoted.append((section, composition, then))
                said += composition.said
            for logged, (_, _, then) in zip(decision["parts"], quoted):
                if then is not None:
                    logged["continued"] = {"doc_id": then.key[0], "section": then.key[1]}
            compositions = [composition for _, composition, _ in quoted]
            # Each question is judged by all that was quoted up to its own answer, which leaves out
            # what an earlier one already said.
            lacking = self._lacks_value([(q, combine(compositions[: i + 1])) for i, (q, _, _) in enumerate(parts)],
                                        audience, passages, now, decision)
            if lacking is not None:
                return lacking
            if self.model.out_of_scope(refuse_like):
                return self._out_of_scope(audience, passages, now, decision)
            keys = {s.key for section, _, then in quoted for s in (section, then) if s is not None}
            own = [x for _, p, _ in parts for x in p.passages if section_key(x.chunk) in keys]
            shown = list({x.chunk.id: x for _, p, _ in parts for x in p.passages}.values())
            return replace(self._answered(typed, shown, combine(compositions), own), decision=decision,
                           sure=all(p.probability >= SURE_PROBABILITY for _, p, _ in parts))
        if chosen is None:
            return replace(self._refusal(REFUSAL_WEAK, audience, passages=passages, unwell_now=now), decision=decision)
        # The generative model reads the chosen section, as the grounded answer quotes it.
        composition, then = self._quote(chosen, pick.ranked, question, judged, audience)
        lacking = self._lacks_value([(typed, composition)], audience, passages, now, decision)
        if lacking is not None:
            return lacking
        if self.model.out_of_scope(refuse_like):
            return self._out_of_scope(audience, passages, now, decision)
        options = _close_sections(pick)
        if options:
            return self._clarify(options, passages, decision)
        if then is not None:
            decision["continued"] = {"doc_id": then.key[0], "section": then.key[1]}
        own = _quoted_passages(passages, chosen, then) or passages
        return replace(self._answered(question, passages, composition, own), decision=decision,
                       sure=pick.probability >= SURE_PROBABILITY)

    def _out_of_scope(self, audience: str, passages: list[Passage], now: bool, decision: dict) -> Answer:
        """A message like those the documents are not for (scope.py: one person's results,
        another hospital's details), whatever section was found: refused with where to ask. Only
        an answer about to be given or offered is refused so; a refusal that says more (a value
        the documents do not give, personal advice) keeps its own words."""
        decision["out_of_scope"] = True
        return replace(self._refusal(REFUSAL_WEAK, audience, passages=passages, unwell_now=now), decision=decision)

    def _clarify(self, options: list, passages: list[Passage], decision: dict) -> Answer:
        """Which of the close sections the reader means, each named by its heading and
        document (`SectionAnswerer.label`), numbered for the reply."""
        labels = [self.sections.label(section.key) for section in options]
        decision["clarify"] = [{"doc_id": s.key[0], "section": s.key[1], "label": label}
                               for s, label in zip(options, labels)]
        lines = [CLARIFY_INTRO, "", *(f"{n}. {label}" for n, label in enumerate(labels, 1)), "", CLARIFY_ASK]
        return Answer(status="clarify", answer="\n".join(lines), retrieved=_doc_order(passages),
                      passages=tuple(passages), decision=decision)

    def _chosen_option(self, message: str, turns: tuple[Turn, ...]) -> tuple[str, tuple[str, str]] | None:
        """When the last reply asked which section the reader means and this message picks one
        (its number, "the second one", or its words): the question asked before, and the
        section's key. The options are read back from that reply, so any client that keeps the
        conversation (web page, API, CLI) can answer it."""
        if len(turns) < 2 or turns[-1].role != "assistant" or not turns[-1].content.startswith(CLARIFY_INTRO):
            return None
        options = dict((int(n), label) for n, label in _OPTION_LINE.findall(turns[-1].content))
        asked = next((t.content for t in reversed(turns[:-1]) if t.role == "user"), None)
        picked = _CHOICE.match(message)
        if picked is not None:
            n = picked.group("n").lower()
            label = options.get(int(n) if n.isdigit() else _ORDINALS[n])
        else:
            wanted = " ".join(message.casefold().split()).rstrip(".")
            label = next((lab for lab in options.values() if " ".join(lab.casefold().split()) == wanted), None)
        key = self.sections.key_of(label) if label is not None else None
        return (asked, key) if key is not None and asked else None

    def _option_answer(self, question: str, key: tuple[str, str], audience: str) -> Answer:
        """The section the reader chose, quoted for the question they asked before as if the
        model had chosen it (its continuation too); refused when it is no longer served
        (withdrawn, past its review date, or not for this audience)."""
        text = self.vocabulary.correct_text(question)
        vector = self.retriever.adapt(self.embedder.encode([text]))[0]
        passages = self.retriever.search(text, audience=audience, query_vector=vector)
        if not any(section_key(p.chunk) == key for p in passages):
            whole = self.retriever.search(text, audience=audience, query_vector=vector, doc_ids={key[0]},
                                          k=len(self.retriever.chunks))
            passages += [p for p in whole if section_key(p.chunk) == key]
        ranked = self.model.rank(self.sections.candidates(text, vector, passages, audience=audience), unknown=False)
        section = next((r.section for r in ranked if r.section.key == key), None)
        decision = {"clarified": {"doc_id": key[0], "section": key[1]}, "question": question}
        if section is None:
            return replace(self._refusal(REFUSAL_WEAK, audience, passages=passages), decision=decision)
        composition, then = self._quote(section, ranked, text, vector, audience)
        own = _quoted_passages(passages, section, then)
        now = audience == "patient" and self.triager.describes_now(question)
        return self._lacks_value([(question, composition)], audience, passages, now, decision) or replace(
            self._answered(text, passages, composition, own), decision=decision)

    def _quote(self, section, ranked: list, question: str, vector: np.ndarray,
               audience: str, said: tuple[str, ...] = ()) -> tuple[Composition, object]:
        """The chosen section quoted, followed by its best-ranked subsection when it is only a
        short opening (`SectionAnswerer.continuation`); and that subsection, or None. `said`:
        what this reply already quoted (for another question of the message), not said again."""
        composition = self.sections.compose(section, question, said)
        then = self.sections.continuation(section, ranked, question=question, vector=vector, audience=audience)
        if then is None:
            return composition, None
        return combine([composition, self.sections.compose(then, question, said + composition.said)]), then

    def _pick(self, question: str, vector: np.ndarray, passages: list[Passage], evidence: "Evidence", context: str,
              audience: str, *, follow_up: bool) -> "_Pick":
        """The retrieved sections ranked by the answer model, and its probability that the first answers."""
        sections = self.sections.candidates(question, vector, passages, context=context, audience=audience)
        unknown = bool(evidence.unknown) and not follow_up
        ranked, probability = self.model.choose(self.model.rank(sections, unknown=unknown), evidence, unknown)
        return _Pick(passages, evidence, unknown, ranked, probability, vector)

    def _parts(self, message: str, audience: str) -> list[tuple[str, "_Pick", object]]:
        """Each separate question of a message that asks two things, picked on its own, with its
        chosen section; [] unless every part is answered (question_parts). Each part is searched
        by its spelling-repaired text, words and meaning alike (encoding the repaired parts
        again, rather than reusing triage's vectors of the sentences as typed, keeps the parts'
        sections as they were: the raw vectors gave the same figures but moved some parts)."""
        parts = question_parts(message)
        if not parts:
            return []
        texts = [self.vocabulary.correct_text(p) for p in parts]
        vectors = self.retriever.adapt(self.embedder.encode(texts))
        out = []
        for part, text, vector in zip(parts, texts, vectors):
            passages = self.retriever.search(text, audience=audience, query_vector=vector)
            evidence = self._evidence(vector, passages, text, "")
            pick = self._pick(text, vector, passages, evidence, "", audience, follow_up=False)
            section = pick.chosen(self.model.threshold)
            if section is None:
                return []
            out.append((part, pick, section))
        return out

    def _sentences_answer(self, question: str, audience: str, passages: list[Passage], evidence: "Evidence",
                          context: str, personal, now: bool) -> Answer:
        """The earlier answer (CART_ANSWER_MODE=sentences): the best sentences of the first
        passages, decided by the fixed evidence thresholds (MIN_EVIDENCE)."""
        if personal:
            general = self.answerer.compose(question, passages, context=context) if evidence.enough else None
            return self._refusal(REFUSAL_PERSONAL[audience], audience, general=general, passages=passages,
                                 unwell_now=now)
        if not evidence.enough:
            return self._refusal(REFUSAL_WEAK, audience, passages=passages, unwell_now=now)
        composition = self.answerer.compose(question, passages, context=context)
        if not composition.sentences:
            return self._refusal(REFUSAL_WEAK, audience, passages=passages, unwell_now=now)
        return self._lacks_value([(question, composition)], audience, passages, now) or \
            self._answered(question, passages, composition, passages)

    def _lacks_value(self, asked: list[tuple[str, Composition]], audience: str, passages: list[Passage], now: bool,
                     decision: dict | None = None) -> Answer | None:
        """The refusal when a question asks for a value of one kind (a dose, a price) and the answer
        quoted for it, on its topic, holds none (values.py); None when every answer holds what it
        was asked for. `decision` is logged with the kind that is missing."""
        lacking, composition = next(((kind, composition) for question, composition in asked
                                     if (kind := values.missing(question, composition.text)) is not None), (None, None))
        if lacking is None:
            return None
        refusal = self._refusal(REFUSAL_VALUE.format(what=lacking.label), audience, passages=passages, unwell_now=now,
                                general=composition if lacking.explains else None)
        if decision is None:
            return refusal
        decision["missing_value"] = lacking.id
        return replace(refusal, decision=decision)

    def _answered(self, question: str, passages: list[Passage], composition: Composition,
                  shown: list[Passage]) -> Answer:
        """The grounded answer, or the generative backend's (given the passages `shown`) when
        one is set: only its verified sentences, else the grounded one."""
        if self.generator is not None:
            generated = self.generator.answer(question, shown, composition)
            return Answer(status="answered", answer=generated.text, citations=generated.citations,
                          retrieved=_doc_order(passages), passages=tuple(passages),
                          backend="grounded (generative fell back)" if generated.used_fallback else "generative",
                          verification=generated.verification)
        return Answer(status="answered", answer=composition.text, citations=composition.citations,
                      retrieved=_doc_order(passages), passages=tuple(passages))

    def _evidence(self, vector: np.ndarray, passages: list[Passage], question: str, context: str) -> "Evidence":
        if not passages:
            return Evidence(0.0, 0.0)
        vectors = self.retriever.vectors_of([p.chunk.id for p in passages])
        similarity = float(np.max(vectors @ np.asarray(vector, dtype=np.float32)))
        found = set()
        for passage in passages[:3]:
            found.update(terms(passage.chunk.embedding_text))
        who = self.vocabulary.who_missing(f"{question} {context}")
        wanted = ({t: self.answerer.weight(t) for t in terms(question) if t not in who}
                  or {t: self.answerer.weight(t) for t in terms(context) if t not in who})
        coverage = sum(w for t, w in wanted.items() if t in found) / (sum(wanted.values()) or 1.0)
        return Evidence(similarity, coverage, tuple(self.vocabulary.unknown(question)))

    def _urgent(self, question: str, emergency: bool, audience: str, then: Answer | None = None) -> Answer:
        """The urgent reply: a patient or carer is told to call the 24-hour line now (999 first
        for an emergency); a clinician, to contact the CAR-T team on that line (999 first when the
        patient is not already in emergency care), followed by `then`, the answer to what they
        asked, when the documents answer it."""
        safety = self._safety_for(audience)
        passages = list(safety.urgent_passages)
        if audience == "clinician":
            team = (f"the CAR-T team on the 24-hour line, {safety.phone}" if safety.phone
                    else "the CAR-T team's 24-hour line")
            opening = CLINICIAN_999.format(team=team) if emergency else f"**Contact {team}, now.**"
            # the one sentence that tells clinicians whom to contact
            grounding = GroundedAnswerer(self.answerer.idf, max_sentences=1, max_passages=1).compose(
                CLINICIAN_CONTACT, passages)
        else:
            line = f"the CAR-T 24-hour line on {safety.phone}" if safety.phone else "your CAR-T team's 24-hour line"
            if emergency:
                opening = (f"**Call 999 now.** Tell them about the CAR-T treatment and show the alert card. "
                           f"Then call {line}.")
            else:
                opening = f"**Call {line} now.** {CALL_999}"
            action = "call 999" if emergency else "call the 24-hour line straight away"
            grounding = self.answerer.compose(f"{question} {action}", passages)
        body = f"{opening}\n\n{grounding.text}" if grounding.sentences else opening
        citations, decision = grounding.citations, None
        if then is not None and then.status == "answered":
            asked, citations = _appended(citations, then.answer, then.citations)
            body = f"{body}\n\n{CLINICIAN_ASKED if then.sure else CLINICIAN_ASKED_UNSURE}\n\n{asked}"
            passages, decision = [*passages, *then.passages], then.decision
        return Answer(status="urgent", answer=body, citations=citations, retrieved=_doc_order(passages),
                      passages=tuple(passages), decision=decision)

    def _with_line(self, sentence: str, audience: str) -> str:
        """A sentence naming the 24-hour line (`{on}`), with its number from the approved documents."""
        phone = self._safety_for(audience).phone
        return sentence.format(on=f" on {phone}" if phone else "")

    def _social(self, kind: str, audience: str) -> Answer:
        """A greeting, thanks or goodbye answered in kind; a patient or carer greeting or saying
        goodbye is given the 24-hour line (a greeting may come before a worry: "hi help")."""
        parts = [SOCIAL_REPLIES[kind]]
        if kind in ("greeting", "goodbye") and audience == "patient":
            parts.append(self._with_line(SOCIAL_LINE, audience))
        return Answer(status="social", answer=" ".join(parts), decision={"social": kind})

    def _refusal(self, message: str, audience: str, *, general: Composition | None = None,
                 passages: list[Passage] | None = None, unwell_now: bool = False, also: str | None = None) -> Answer:
        where = self._where_to_ask(audience)
        parts = [message]
        if unwell_now:  # the message says how someone is now: the line, whatever was asked
            parts.append(self._with_line(UNWELL_NOW, audience))
        if also:  # a further fixed line (CALL_999)
            parts.append(also)
        citations = list(where.citations)
        if where.sentences:
            parts.append(where.text)
        if general is not None and general.sentences:
            renumbered, citations = _appended(citations, general.text, general.citations)
            parts.append(f"{GENERAL_INFO}\n{renumbered}")
        return Answer(status="refused", answer="\n\n".join(parts), citations=tuple(citations),
                      retrieved=_doc_order(passages or []), passages=tuple(passages or ()))

    # -- grounding for the fixed lines -------------------------------------------------
    def _safety_for(self, audience: str) -> _Safety:
        today = today_iso()  # in the key: a leaflet passing its review date drops out the same day
        key = (self.retriever.generation, audience, today)
        if key not in self._safety:
            # A clinician is pointed to the CAR-T team by the documents for clinicians.
            found = (self.retriever.search(CLINICIAN_CONTACT, audience="clinician", k=4)
                     if audience == "clinician" else
                     self.retriever.search("red flag symptoms: call the 24-hour line straight away, or 999 for a fit "
                                           "or collapse", audience="patient", k=4))
            # Only passages that give the action ground it: quoting whatever ranked first when
            # the red-flag leaflet is missing (or past its review date) would say something else.
            passages = [p for p in found if _GIVES_ACTION.search(p.chunk.text)]
            phone = None
            current = (c for c in self.retriever.chunks if in_date(c, today))
            for chunk in itertools.chain((p.chunk for p in passages), current):
                match = re.search(r"24-hour[^\n]{0,120}", chunk.text, re.I)
                if match and _PHONE.search(match.group(0)):
                    phone = _PHONE.search(match.group(0)).group(0)
                    break
                if "24-hour" in chunk.section.lower() and _PHONE.search(chunk.text):
                    phone = _PHONE.search(chunk.text).group(0)
                    break
            self._safety[key] = _Safety(phone, tuple(passages))
        return self._safety[key]

    def _where_to_ask(self, audience: str) -> Composition:
        key = (self.retriever.generation, audience, today_iso())
        if key not in self._where:
            self._where[key] = self._find_where_to_ask(audience)
        return self._where[key]

    def _find_where_to_ask(self, audience: str) -> Composition:
        who = "patients and carers ask your team" if audience == "patient" else "clinicians contact the referral coordinator"
        passages = self.retriever.search(f"where to ask: questions not covered by the documents; {who}", audience=audience, k=2)
        answerer = GroundedAnswerer(self.answerer.idf, max_sentences=1, max_passages=1)
        return answerer.compose(f"where to ask {who}", passages)


def _appended(citations, text: str, more) -> tuple[str, tuple]:
    """`text`, citing `more` from [1], put after `citations`: its numbers shifted past them."""
    shift = len(citations)
    renumbered = re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + shift}]", text)
    return renumbered, (*citations, *(replace(c, n=c.n + shift) for c in more))


@dataclass(frozen=True)
class _Pick:
    """One question's retrieved passages, their sections ranked, and the decision to answer."""

    passages: list
    evidence: "Evidence"
    unknown: bool
    ranked: list
    probability: float
    vector: np.ndarray  # what its sections were judged by

    def chosen(self, threshold: float):
        return self.ranked[0].section if self.ranked and self.probability >= threshold else None

    def decision(self, threshold: float) -> dict:
        """What the log and the evaluation read: the probability, the evidence, every candidate."""
        out = {"answer_probability": round(self.probability, 4), "threshold": round(threshold, 4),
               "evidence": {"similarity": round(self.evidence.similarity, 4),
                            "coverage": round(self.evidence.coverage, 4), "rule": self.evidence.enough},
               "unknown_words": self.unknown,
               "candidates": [{"doc_id": r.section.key[0], "section": r.section.key[1],
                               "probability": round(r.probability, 4), "features": r.features} for r in self.ranked]}
        chosen = self.chosen(threshold)
        if chosen is not None:
            out["chosen"] = {"doc_id": chosen.key[0], "section": chosen.key[1]}
        return out


# How much the conversation's vector counts against a follow-up's own (1.0) when its sections
# are judged: chosen on the 81 tuning and dev follow-ups among 0, 0.5, 1 and the conversation
# alone (wrong answers 11 -> 6, passed 54 -> 55, before refitting the answer model).
FOLLOW_UP_CONTEXT_WEIGHT = 0.5


# When the reader is asked which section they mean (`_close_sections`): the model gives its
# answer less than an even chance (only an answer that would carry the unsure note is replaced)
# and the next section is within CLARIFY_MARGIN of the first (candidate probabilities). The
# margin was chosen on the 1,020 tuning and dev answer cases as the most wrong answers avoided
# per question asked back (docs/history.md, "+ which one is meant"): 0.1 asked 38 (3.7%) and took wrong
# answers 84 -> 75; 0.15 asked 51 for 76; below 0.6 (not the note's 0.5) asked 55 for 74.
CLARIFY_BELOW = SURE_PROBABILITY
CLARIFY_MARGIN = 0.1
CLARIFY_OPTIONS = 2
SAME_WORDS = 0.5  # share of the shorter section's words the other holds too, to say the same (`_says_the_same`)


def _quoted_passages(passages: list[Passage], section, then) -> list[Passage]:
    """The passages of the section quoted and of the subsection it goes on to (`then`, or None)."""
    keys = {s.key for s in (section, then) if s is not None}
    return [p for p in passages if section_key(p.chunk) in keys]


def _close_sections(pick: "_Pick") -> list:
    """The sections to offer when the answer model cannot tell the first from the next: the
    first and each other within CLARIFY_MARGIN of it (at most CLARIFY_OPTIONS), or [] when it is
    sure enough (CLARIFY_BELOW) or nothing is close."""
    ranked = pick.ranked
    if len(ranked) < 2 or pick.probability >= CLARIFY_BELOW:
        return []
    first = ranked[0].section
    close = [first] + [r.section for r in ranked[1:CLARIFY_OPTIONS]
                       if ranked[0].probability - r.probability < CLARIFY_MARGIN and not _says_the_same(first, r.section)]
    return close if len(close) >= 2 else []


def _says_the_same(a, b) -> bool:
    """Two sections most of whose words, the shorter one's, are the other's too (the same advice
    in two leaflets): asking which one is meant would not change the answer."""
    words = [set(terms(" ".join(u.text for u in section.units))) for section in (a, b)]
    return len(words[0] & words[1]) >= SAME_WORDS * (min(map(len, words)) or 1)


def _unanswered(answer: Answer) -> bool:
    """Refused because no section was decided on: not a boundary (personal advice, an attempt to
    change the assistant), not a value the section lacks, not an unreadable message."""
    decision = answer.decision or {}
    return answer.status == "refused" and bool(decision) and not {"chosen", "boundary", "missing_value"} & decision.keys()


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


def social_kind(message: str) -> str | None:
    """"thanks", "goodbye" or "greeting" for a message of at most SOCIAL_MAX_WORDS words that only
    greets, thanks or says goodbye ("thank you, that was really helpful", "ok bye", "hiya"), in
    that order when it does more than one; None for anything else ("hi, can I drive after CAR-T?")."""
    found = re.findall(r"[a-z']+", message.lower())  # quotes already plain (normalise_question)
    if not found or len(found) > SOCIAL_MAX_WORDS or any(w not in _SOCIAL_WORDS for w in found):
        return None
    return next((kind for kind, anchors in _SOCIAL_ANCHORS.items() if anchors & set(found)), None)


def _unreadable(question: str, known=frozenset()) -> bool:
    """Most letters outside the Latin script, or written in another language of the Latin script
    (`text.other_language`; `known`: the corpus's words, English whatever their frequency): the
    corpus (English) cannot answer it, and matching its few words the corpus shares ("CAR-T",
    "confuso") would answer something else."""
    letters = [ch for ch in question if ch.isalpha()]
    if not letters:
        return True
    foreign = sum(1 for ch in letters if not ("LATIN" in unicodedata.name(ch, "")))
    return foreign / len(letters) > 0.5 or other_language(question, known) is not None


def _listed(names: list[str]) -> str:
    """"a", "a or b", "a, b or c": what the documents do not mention, any one of them."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _doc_order(passages: Iterable[Passage]) -> tuple[str, ...]:
    seen: list[str] = []
    for passage in passages:
        if passage.chunk.doc_id not in seen:
            seen.append(passage.chunk.doc_id)
    return tuple(seen)
