"""The JSON API for other hospital systems, on the web page's server: `/api/v1`.

- `POST /api/v1/ask` `{"question", "audience", "history"}` -> exactly the answer of
  `python -m assistant ask --json` (the same chain: triage, refusals, hostile input).
- `POST /api/v1/feedback` `{"rating", "question", "answer", "comment", "audience", "status"}`
  -> `{"id"}`; every text is scrubbed as the page's feedback is.
- `GET /api/v1/openapi.json`: the schema.
Bad input gets a 4xx with `{"error": "<one line: what is wrong and how to fix it>"}`, never a
stack trace. One client (by address) asking faster than `CART_API_RATE` per second (bursts
of four times that) gets 429 with Retry-After, so the others keep being served.
"""

from __future__ import annotations

import asyncio
import collections
import math
import threading
import time
from typing import Any, Callable, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from .errors import AssistantError, UsageError
from .feedback import FeedbackStore

MAX_HISTORY_TURNS = 50


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)

class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    question: str = Field(description="The question, in English (at most 2,000 characters once tidied).")
    audience: Literal["patient", "carer", "clinician"] = "patient"
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS,
                                description="Earlier turns, oldest first, for a follow-up question.")

class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    rating: Literal["helpful", "not_helpful"]
    question: str = Field("", max_length=20_000)
    answer: str = Field("", max_length=50_000)
    comment: str = Field("", max_length=5_000)
    audience: Literal["patient", "carer", "clinician", ""] = ""
    status: Literal["answered", "refused", "urgent", "clarify", "social", ""] = ""


class TokenBuckets:
    """Per-client token buckets: `rate` tokens a second, up to `burst`; thread-safe."""

    def __init__(self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 10_000):
        self.rate, self.burst, self.clock, self.max_clients = rate, burst, clock, max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go ahead; else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (1 - tokens) / self.rate
            if len(self._buckets) > self.max_clients:  # forget the longest-idle clients
                for key in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: self.max_clients // 10]:
                    del self._buckets[key]
        return wait


QUEUE_WAIT_S = 30.0  # longest a request waits for a free answer slot before 503


class FairSlots:
    """At most `n` answers computed at once. Waiting requests are let in by client, in turn
    (round robin), not first come first served: a client that sends a burst waits behind its
    own requests, and everyone else's next request goes ahead of the rest of that burst.
    Used from the event loop only (no lock needed)."""

    def __init__(self, n: int):
        self._free = n
        self._waiting: dict[str, collections.deque[asyncio.Future]] = {}  # client -> its waiters; in turn order

    async def acquire(self, client: str, timeout: float) -> bool:
        """True once a slot is this request's (then call `release`); False after `timeout` s."""
        if self._free and not self._waiting:
            self._free -= 1
            return True
        granted = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(client, collections.deque()).append(granted)
        try:
            await asyncio.wait_for(asyncio.shield(granted), timeout)
            return True
        except asyncio.TimeoutError:
            self._give_up(client, granted)
            return False
        except asyncio.CancelledError:  # the caller went away while waiting
            self._give_up(client, granted)
            raise

    def release(self) -> None:
        while self._waiting:
            client = next(iter(self._waiting))
            queue = self._waiting.pop(client)
            granted = queue.popleft()
            if queue:
                self._waiting[client] = queue  # to the back of the turn order
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1

    def _give_up(self, client: str, granted: asyncio.Future) -> None:
        if granted.done():  # the slot came just as this request gave up: pass it on
            self.release()
            return
        granted.cancel()
        queue = self._waiting.get(client)
        if queue is not None:
            try:
                queue.remove(granted)
            except ValueError:
                pass
            if not queue:
                del self._waiting[client]


def _client(request: Request) -> str:
    """Who is asking, for the per-client limit and fair turns: the connection's address."""
    return request.client.host if request.client else "unknown"


def build_api(settings, holder, *, log_unexpected: Callable[[str], None], concurrency: int = 2):
    """A FastAPI sub-application, mounted at /api/v1 by webapp.build_server."""
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    api = FastAPI(title="CAR-T service assistant API", version="1",
                  description="Answers from the approved documents only, with citations.",
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None)
    buckets = TokenBuckets(settings.api_rate, 4 * settings.api_rate)
    # As many answers at once as there are cores: more threads only contend for them (16
    # clients unbounded gave half the throughput of 4, and a p95 of 0.9 s; BENCHMARKS.md).
    # Waiting requests wait in the event loop, not on a worker thread, so the page and
    # /healthz keep their threads while the API is busy.
    slots = FairSlots(concurrency)
    feedback = FeedbackStore(settings.feedback_db)

    def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the request body"
        kind = first.get("type", "")
        if kind == "missing":
            reason = f"{where} is missing"
        elif kind == "extra_forbidden":
            reason = f"{where} is not a field of this request: see /api/v1/openapi.json"
        elif kind in ("json_invalid", "model_type", "model_attributes_type"):
            reason = "the body must be a JSON object"
        else:
            msg = first.get("msg", "Invalid")
            reason = f"{where}: {msg[:1].lower()}{msg[1:]}"
        return error(422 if kind != "json_invalid" else 400, reason)

    @api.middleware("http")
    async def limit(request: Request, call_next):
        client = _client(request)
        wait = buckets.take(client)
        if wait > 0:
            return error(429, f"too many requests from {client}: wait {math.ceil(wait)} s",
                         {"Retry-After": str(math.ceil(wait))})
        return await call_next(request)

    @api.post("/ask", summary="Ask a question",
              responses={400: {"description": "bad input"}, 422: {"description": "bad input"},
                         429: {"description": "too many requests"}, 503: {"description": "index unavailable"}})
    async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """The answer contract of `python -m assistant ask --json`."""
        from starlette.concurrency import run_in_threadpool

        if not await slots.acquire(_client(request), QUEUE_WAIT_S):
            return error(503, f"the service is busy: try again in {int(QUEUE_WAIT_S)} s",
                         {"Retry-After": str(int(QUEUE_WAIT_S))})
        try:
            history = [t.model_dump() for t in body.history]
            answer = await run_in_threadpool(lambda: holder.get().ask(body.question, body.audience, history))
        except UsageError as exc:
            return error(400, str(exc))
        except AssistantError as exc:
            return error(503, str(exc))
        except Exception:
            log_unexpected("API answering failed")
            return error(500, "something went wrong on the server; the team has been told")
        finally:
            slots.release()
        return answer.to_json()

    @api.post("/feedback", summary="Rate an answer", status_code=201)
    def post_feedback(body: FeedbackRequest) -> dict[str, int]:
        return {"id": feedback.add(rating=body.rating, question=body.question, answer=body.answer,
                                   comment=body.comment, audience=body.audience, status=body.status)}

    return api
