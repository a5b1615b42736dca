"""asr serve: the real openai client, raw HTTP error cases, the page in headless Chromium."""

from __future__ import annotations

import asyncio
import io
import shutil
import socket
import threading
import time

import numpy as np
import pytest
import soundfile

pytest.importorskip("starlette", reason="asr serve needs starlette, uvicorn and python-multipart")
import httpx  # noqa: E402
import uvicorn  # noqa: E402

from asr.server import ServeConfig, create_app  # noqa: E402
from asr.transcriber import load_model  # noqa: E402
from conftest import espeak_available, speak  # noqa: E402

SENTENCE = "please bring me a cup of hot coffee"


class Running:
    """A server on a free loopback port, in a thread, for the length of a test module."""

    def __init__(self, app):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def transcriber():
    return load_model()


@pytest.fixture(scope="module")
def server(transcriber):
    running = Running(create_app(ServeConfig(max_upload_bytes=400_000, max_audio_seconds=30),
                                 transcriber=transcriber))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if not espeak_available():
        pytest.skip("espeak-ng not installed")
    return speak(SENTENCE, tmp_path_factory.mktemp("speech") / "coffee.wav", rate=140)


@pytest.mark.parametrize("response_format", ["json", "text", "srt", "vtt", "verbose_json"])
def test_the_openai_client_gets_every_response_format(server, speech, transcriber, response_format):
    openai = pytest.importorskip("openai", reason="the openai client is not installed")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    expected = transcriber.transcribe(speech)
    with open(speech, "rb") as audio:
        result = client.audio.transcriptions.create(
            model="asr", file=audio, response_format=response_format,
            **({"timestamp_granularities": ["word", "segment"]} if response_format == "verbose_json" else {}))
    if response_format == "json":
        assert result.text == expected.text
    elif response_format == "text":
        assert result.strip() == expected.text
    elif response_format in ("srt", "vtt"):
        assert " ".join(line for line in result.splitlines() if line and "-->" not in line
                        and not line.isdigit() and line != "WEBVTT") == expected.text
    else:
        assert result.text == expected.text and result.duration == pytest.approx(expected.duration, abs=1e-3)
        assert [w.word for w in result.words] == [w.word for w in expected.words]
        assert all(w.start <= w.end for w in result.words)
        assert " ".join(s.text for s in result.segments) == expected.text


def _post(server, data: bytes | None, *, name="a.wav", fields=None, files_field="file"):
    files = {files_field: (name, data, "application/octet-stream")} if data is not None else None
    return httpx.post(server.url + "/v1/audio/transcriptions", files=files,
                      data={"model": "asr", **(fields or {})}, timeout=60)


def _flac_bytes(seconds=2.0) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.sin(np.arange(int(16_000 * seconds)) * 0.05).astype(np.float32) * 0.3, 16_000,
                    format="FLAC")
    return buffer.getvalue()


@pytest.mark.parametrize(("case", "status", "words"), [
    ("empty file", 400, "the uploaded file"),
    ("text as audio", 400, "not a readable audio file"),
    ("truncated flac", 400, "the uploaded file"),
    ("oversize upload", 413, "larger than"),
    ("wrong field name", 400, "'file' field"),
    ("french", 400, "English only"),
    ("unknown format", 400, "response_format"),
    ("too long", 400, "at most 30 s"),
])
def test_bad_requests_get_a_clear_4xx_and_the_server_goes_on(server, speech, case, status, words):
    if case == "empty file":
        response = _post(server, b"")
    elif case == "text as audio":
        response = _post(server, b"this is a text file, not audio\n" * 20, name="notes.wav")
    elif case == "truncated flac":
        response = _post(server, _flac_bytes()[:3000], name="cut.flac")
    elif case == "oversize upload":
        response = _post(server, b"\0" * 500_000)
    elif case == "wrong field name":
        response = _post(server, speech.read_bytes(), files_field="audio")
    elif case == "french":
        response = _post(server, speech.read_bytes(), fields={"language": "fr"})
    elif case == "unknown format":
        response = _post(server, speech.read_bytes(), fields={"response_format": "xml"})
    else:
        buffer = io.BytesIO()
        soundfile.write(buffer, np.zeros(16_000 * 31, np.int16), 16_000, format="FLAC")
        response = _post(server, buffer.getvalue(), name="long.flac")
    assert response.status_code == status
    error = response.json()["error"]
    assert words in error["message"] and error["type"]
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    assert _post(server, speech.read_bytes()).status_code == 200


def test_a_full_queue_answers_503_and_every_admitted_request_is_served(transcriber, speech):
    release = threading.Event()

    class Held:  # the real model, held back until the queue has filled
        folder = transcriber.folder

        def transcribe_batch(self, *args, **kwargs):
            release.wait(timeout=60)
            return transcriber.transcribe_batch(*args, **kwargs)

    running = Running(create_app(ServeConfig(max_queue=2), transcriber=Held()))
    try:
        async def flood():
            async with httpx.AsyncClient(base_url=running.url, timeout=60) as client:
                async def one():
                    return await client.post("/v1/audio/transcriptions", data={"model": "asr"},
                                             files={"file": ("a.wav", speech.read_bytes())})
                tasks = [asyncio.create_task(one()) for _ in range(6)]
                while not any(task.done() for task in tasks):  # only a refusal can finish while the model is held
                    await asyncio.sleep(0.05)
                release.set()
                return await asyncio.gather(*tasks)

        responses = asyncio.run(flood())
        refused = [r for r in responses if r.status_code == 503]
        assert refused and all(r.json()["error"]["code"] == "queue_full" for r in refused)
        assert all(r.status_code == 200 and r.json()["text"] for r in responses if r.status_code != 503)
        assert len(refused) < len(responses)
    finally:
        release.set()
        running.stop()


def test_the_page_uploads_a_file_and_shows_timed_words(server, speech):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        try:
            page = browser.new_page()
            page.goto(server.url + "/")
            page.set_input_files("#file", str(speech))
            page.click("#send")
            page.wait_for_selector("#words tr:nth-child(2)", timeout=60_000)
            words = page.locator("#transcript .word").all_inner_texts()
            rows = page.locator("#words tr").count()
            status = page.inner_text("#status")
        finally:
            browser.close()
    assert words and rows == len(words) + 1
    assert "s of audio" in status
