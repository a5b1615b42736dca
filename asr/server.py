"""``asr serve``: an HTTP transcription service with OpenAI's endpoint, a health check and a web page.

Endpoints (Starlette, served by uvicorn; one model loaded once and shared):

* ``POST /v1/audio/transcriptions``: multipart as OpenAI defines it
  (``file``, ``model``, ``response_format`` = ``json``, ``text``, ``srt``,
  ``vtt`` or ``verbose_json``, ``timestamp_granularities[]`` = ``word`` and/or
  ``segment``, ``prompt``: its words are favoured as hotwords, ``language``:
  English only). Extensions of ours: ``decoder`` (greedy, beam, lm; default:
  the model's own) and a ``confidence`` on each ``verbose_json`` word.
* ``GET /v1/models``: the one model, as OpenAI lists models.
* ``GET /health``: ``{"status": "ok", ...}`` with the queue's state.
* ``GET /``: a page to upload a file or record from the microphone, showing
  the transcript with word timings, each word shaded by its confidence.

Protection: uploads over ``max_upload_bytes`` get 413 (checked against
Content-Length and while reading); audio that cannot be decoded, or is longer
than ``max_audio_seconds``, gets 400 naming the problem; at most
``max_queue`` requests wait or run, the next gets 503; a request that takes
longer than ``request_timeout`` seconds gets 504. Errors use OpenAI's shape,
``{"error": {"message", "type", "param", "code"}}``. Uploads go to a private
temporary folder and are deleted after the request.

Inference runs in one worker thread, off the event loop; requests that wait
together are transcribed as one batch through the acoustic model (grouped by
decoder and hotwords).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route

from asr.audio import load_audio
from asr.captions import to_srt, to_vtt
from asr.constants import SAMPLE_RATE
from asr.errors import AsrError
from asr.text import normalize_text

logger = logging.getLogger(__name__)

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("word", "segment")
ENGLISH = ("en", "eng", "english")
SEGMENT_PAUSE_SECONDS = 0.8  # s: a pause this long between words starts a new verbose_json segment
MAX_BATCH = 8  # requests transcribed together through the acoustic model
PAGE = Path(__file__).with_name("server_page.html")


@dataclass(frozen=True)
class ServeConfig:
    """How ``asr serve`` runs.

    Attributes
    ----------
    model : str or None
        Model folder; None for the bundled model.
    host : str
    port : int
    max_upload_bytes : int
        Largest request body (OpenAI's limit is 25 MB).
    max_audio_seconds : float
        Longest audio accepted.
    request_timeout : float
        Seconds a request may wait and run before it is answered 504.
    max_queue : int
        Requests waiting or running at once; more are answered 503.
    """

    model: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = 25 * 2**20
    max_audio_seconds: float = 3600.0
    request_timeout: float = 300.0
    max_queue: int = 32

    def __post_init__(self):
        if self.max_upload_bytes < 1 or self.max_audio_seconds <= 0 or self.request_timeout <= 0 or self.max_queue < 1:
            raise ValueError(f"limits must be positive, got {self}")


class RequestError(Exception):
    """A request that cannot be served, with its HTTP status and OpenAI error fields."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass
class _Job:
    samples: np.ndarray
    decoder: str
    hotwords: tuple[str, ...]
    future: asyncio.Future
    cancelled: bool = False


@dataclass
class Service:
    """The model and the queue behind the endpoints."""

    transcriber: object
    config: ServeConfig
    queue: asyncio.Queue | None = None
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1,
                                                                                    thread_name_prefix="asr"))
    started: float = field(default_factory=time.time)
    served: int = 0

    async def start(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.config.max_queue)
        self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def stop(self) -> None:
        self._dispatcher.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def transcribe(self, samples: np.ndarray, *, decoder: str, hotwords: tuple[str, ...]):
        """Queue one request and wait for its transcript (503 when the queue is full, 504 past the timeout)."""
        job = _Job(samples, decoder, hotwords, asyncio.get_running_loop().create_future())
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            raise RequestError(503, f"the server is busy ({self.config.max_queue} requests waiting or running); "
                                    "try again shortly", code="queue_full", kind="server_error") from None
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout=self.config.request_timeout)
        except asyncio.TimeoutError:
            job.cancelled = True
            raise RequestError(504, f"transcription took longer than {self.config.request_timeout:g} s",
                               code="timeout", kind="server_error") from None

    async def _dispatch(self) -> None:
        """Take waiting jobs, up to MAX_BATCH at a time, and transcribe them in the worker thread."""
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            while len(jobs) < MAX_BATCH and not self.queue.empty():
                jobs.append(self.queue.get_nowait())
            jobs = [job for job in jobs if not job.cancelled]
            groups: dict[tuple, list[_Job]] = {}
            for job in jobs:
                groups.setdefault((job.decoder, job.hotwords), []).append(job)
            for (decoder, hotwords), group in groups.items():
                try:
                    transcripts = await loop.run_in_executor(self.executor, self._run, group, decoder, hotwords)
                except Exception as error:  # a failure of the model must answer its requests, not stop the loop
                    logger.exception("transcription failed")
                    for job in group:
                        if not job.future.done():
                            job.future.set_exception(RequestError(500, f"transcription failed: {error}",
                                                                  kind="server_error"))
                    continue
                for job, transcript in zip(group, transcripts):
                    if not job.future.done():
                        job.future.set_result(transcript)
            for _ in jobs:
                self.queue.task_done()
            self.served += len(jobs)

    def _run(self, group: list[_Job], decoder: str, hotwords: tuple[str, ...]):
        return self.transcriber.transcribe_batch([job.samples for job in group], sr=SAMPLE_RATE, decoder=decoder,
                                                 hotwords=list(hotwords) or None)


def create_app(config: ServeConfig = ServeConfig(), *, transcriber=None):
    """The Starlette application; ``transcriber`` defaults to ``load_model(config.model)``.

    Returns
    -------
    starlette.applications.Starlette
    """
    if transcriber is None:
        from asr.transcriber import load_model

        transcriber = load_model(config.model)
    service = Service(transcriber, config)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await service.start()
        yield
        await service.stop()

    routes = [Route("/", _page, methods=["GET"]),
              Route("/health", partial(_health, service=service), methods=["GET"]),
              Route("/v1/models", partial(_models, service=service), methods=["GET"]),
              Route("/v1/audio/transcriptions", partial(_transcriptions, service=service), methods=["POST"])]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return _BodyLimit(app, config.max_upload_bytes)


def serve(config: ServeConfig) -> None:
    """Run the server until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info")


class _BodyTooLarge(Exception):
    pass


class _BodyLimit:
    """ASGI middleware: 413 for a body over the limit, by its Content-Length or as it arrives."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _send_error(send, self._too_large())
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLarge:
            await _send_error(send, self._too_large())

    def _too_large(self) -> RequestError:
        return RequestError(413, f"the upload is larger than {self.limit} bytes", code="upload_too_large")


async def _send_error(send, error: RequestError) -> None:
    import json

    body = json.dumps(error.body()).encode()
    await send({"type": "http.response.start", "status": error.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _page(request):
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))


async def _health(request, *, service: Service):
    return JSONResponse({"status": "ok", "model": _model_name(service), "queued": service.queue.qsize(),
                         "max_queue": service.config.max_queue, "served": service.served,
                         "uptime_seconds": round(time.time() - service.started, 1)})


async def _models(request, *, service: Service):
    return JSONResponse({"object": "list", "data": [{"id": _model_name(service), "object": "model",
                                                     "created": int(service.started), "owned_by": "asr"}]})


def _model_name(service: Service) -> str:
    return Path(service.transcriber.folder.path).name


async def _transcriptions(request, *, service: Service):
    try:
        options, upload = await _read_form(request)
        samples = await asyncio.get_running_loop().run_in_executor(None, _decode, upload, service.config)
        decoder = service.transcriber.folder.decoding.kind if options["decoder"] == "default" else options["decoder"]
        transcript = await service.transcribe(samples, decoder=decoder, hotwords=options["hotwords"])
        return _respond(transcript, options)
    except RequestError as error:
        return JSONResponse(error.body(), status_code=error.status)


async def _read_form(request) -> tuple[dict, Path]:
    """The form's options, checked, and the uploaded file saved in a private temporary folder."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise RequestError(400, "expected a multipart/form-data body with a 'file' field", param="file")
    try:
        form = await request.form(max_files=1, max_fields=32, max_part_size=64 * 1024)
    except _BodyTooLarge:
        raise RequestError(413, "the upload is larger than this server takes", code="upload_too_large") from None
    except Exception as error:  # python-multipart and Starlette raise several types for a broken body
        raise RequestError(400, f"cannot read the multipart form ({error})") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise RequestError(400, "the form has no 'file' field holding an audio file", param="file")
    if "model" not in form:
        raise RequestError(400, "the form has no 'model' field (any name; this server has one model)", param="model")
    options = _options(form)
    folder = Path(tempfile.mkdtemp(prefix="asr-serve-"))  # ours alone; the client's file name is never used
    path = folder / "upload"
    try:
        with open(path, "wb") as handle:
            while chunk := await upload.read(1 << 20):
                handle.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        await form.close()
    return options, path


def _options(form) -> dict:
    """The form fields of OpenAI's request and our extensions, checked."""
    response_format = form.get("response_format", "json")
    if response_format not in RESPONSE_FORMATS:
        raise RequestError(400, f"response_format must be one of {RESPONSE_FORMATS}, got {response_format!r}",
                           param="response_format")
    language = form.get("language")
    if language and language.strip().lower() not in ENGLISH:
        raise RequestError(400, f"this model transcribes English only; got language {language!r}", param="language",
                           code="unsupported_language")
    granularities = form.getlist("timestamp_granularities[]") or form.getlist("timestamp_granularities")
    unknown = sorted(set(granularities) - set(GRANULARITIES))
    if unknown:
        raise RequestError(400, f"timestamp_granularities must be among {GRANULARITIES}, got {unknown}",
                           param="timestamp_granularities[]")
    decoder = form.get("decoder", "default")
    if decoder not in ("default", "greedy", "beam", "lm"):
        raise RequestError(400, f"decoder must be greedy, beam or lm, got {decoder!r}", param="decoder")
    prompt = form.get("prompt") or ""
    return {"response_format": response_format, "granularities": tuple(granularities) or ("segment",),
            "decoder": decoder, "hotwords": tuple(dict.fromkeys(normalize_text(prompt).split()))}


def _decode(path: Path, config: ServeConfig) -> np.ndarray:
    """The upload as 16 kHz mono samples (400 naming the problem), its temporary folder removed after."""
    try:
        samples = load_audio(path)
    except AsrError as error:
        raise RequestError(400, str(error).replace(str(path), "the uploaded file"), param="file",
                           code="invalid_audio") from None
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    seconds = samples.size / SAMPLE_RATE
    if seconds > config.max_audio_seconds:
        raise RequestError(400, f"the audio is {seconds:.0f} s long; this server takes at most "
                                f"{config.max_audio_seconds:g} s", param="file", code="audio_too_long")
    return samples


def _respond(transcript, options: dict):
    """The transcript in the response format asked for."""
    kind = options["response_format"]
    if kind == "text":
        return PlainTextResponse(transcript.text + "\n")
    if kind == "srt":
        return PlainTextResponse(to_srt(transcript.words))
    if kind == "vtt":
        return PlainTextResponse(to_vtt(transcript.words), media_type="text/vtt")
    if kind == "json":
        return JSONResponse({"text": transcript.text})
    body = {"task": "transcribe", "language": "english", "duration": round(transcript.duration, 3),
            "text": transcript.text}
    if "segment" in options["granularities"]:
        body["segments"] = _segments(transcript.words)
    if "word" in options["granularities"]:
        body["words"] = [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
                          "confidence": round(w.confidence, 4)} for w in transcript.words]
    return JSONResponse(body)


def _segments(words) -> list[dict]:
    """Words grouped at pauses into OpenAI's verbose_json segments."""
    groups: list[list] = []
    for word in words:
        if not groups or word.start - groups[-1][-1].end >= SEGMENT_PAUSE_SECONDS:
            groups.append([])
        groups[-1].append(word)
    return [{"id": i, "seek": 0, "start": round(group[0].start, 3), "end": round(group[-1].end, 3),
             "text": " ".join(w.word for w in group), "tokens": [], "temperature": 0.0,
             "avg_logprob": round(float(np.mean([np.log(max(w.confidence, 1e-6)) for w in group])), 4),
             "compression_ratio": 1.0, "no_speech_prob": 0.0} for i, group in enumerate(groups)]
