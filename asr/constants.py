"""Constants shared by every part of the pipeline, defined here and nowhere else."""

SAMPLE_RATE = 16_000  # samples per second of all audio after loading

WINDOW_MS = 20.0  # ms: the analysis window of the default features
HOP_MS = 10.0  # ms: the step between feature frames

MIN_AUDIO_SECONDS = WINDOW_MS / 1000.0  # s: shorter audio cannot give one frame

BLANK = ""  # how the CTC blank is written in label lists (pyctcdecode convention)
BLANK_INDEX = 0  # class index of the CTC blank (TensorFlow's fastest choice)

# The 28 symbols a transcript may hold, in class order after the blank.
SYMBOLS = tuple("abcdefghijklmnopqrstuvwxyz") + ("'", " ")

NUM_CLASSES = len(SYMBOLS) + 1  # 29: the symbols plus the blank

SECONDS_PER_HOUR = 3600  # s in an hour

STREAM_CHUNK_MS = 100.0  # ms of audio per step of a live stream (read from a pipe or played from a file)
