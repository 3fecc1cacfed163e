"""Photo screening: a nudity score for every uploaded photo, before anyone else sees it.

One small interface (`Detector.scan(jpeg) -> Verdict`) with two backends: NudeNet (the
default; its 320n ONNX model ships inside the wheel and runs on onnxruntime, on this
machine) and AWS Rekognition's DetectModerationLabels through boto3 (when
`PHOTO_SCREENING=rekognition`). The rest of the market sees only the interface: NudeNet's
wheel carries AGPL-3.0 licence text while its metadata says MIT (docs/decisions.md), and
keeping it behind this seam means it can be swapped without touching the photo pipeline.

What the score means is decided here, once (`screening_outcome`): above 0.88 the photo is
rejected, from 0.5 it waits for a steward, below it is published.
"""

import os
import threading
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

REJECT_ABOVE = 0.88
HOLD_FROM = 0.5

PUBLISH, HOLD, REJECT = "publish", "hold", "reject"


@dataclass(frozen=True)
class Verdict:
    score: float  # 0-1: how sure the backend is that the photo shows nudity
    backend: str
    labels: list[str] = field(default_factory=list)


class Detector(Protocol):
    name: str

    def scan(self, jpeg: bytes) -> Verdict: ...


def screening_outcome(score: float) -> str:
    if score > REJECT_ABOVE:
        return REJECT
    if score >= HOLD_FROM:
        return HOLD
    return PUBLISH


# NudeNet

# The classes that count: exposed intimate parts. NudeNet also reports faces, feet,
# armpits, bellies and covered parts, which a flea market's photos of clothes and of
# people wearing them are full of.
NUDENET_EXPOSED = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)


class NudeNetDetector:
    """NudeNet's detector, loaded once per process (about 2 s), then about a quarter
    of a second a photo on one core."""

    name = "nudenet"
    _lock = threading.Lock()
    _model = None

    @classmethod
    def _loaded(cls):
        with cls._lock:
            if cls._model is None:
                import nudenet
                import onnxruntime

                detector = nudenet.NudeDetector()
                # NudeNet builds its session with onnxruntime's defaults: a thread per
                # core, spinning while it waits. On a shared machine those threads fight
                # the web process and each other (0.41 s a photo against 0.27 s with
                # one thread, measured under load), so the model runs single-threaded.
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                model = os.path.join(os.path.dirname(nudenet.__file__), "320n.onnx")
                detector.onnx_session = onnxruntime.InferenceSession(
                    model, options, providers=["CPUExecutionProvider"]
                )
                cls._model = detector
            return cls._model

    def scan(self, jpeg: bytes) -> Verdict:
        detections = self._loaded().detect(jpeg)
        exposed = [d for d in detections if d["class"] in NUDENET_EXPOSED]
        score = max((float(d["score"]) for d in exposed), default=0.0)
        labels = sorted({f"{d['class']} {float(d['score']):.2f}" for d in exposed})
        return Verdict(score=round(score, 4), backend=self.name, labels=labels)


# AWS Rekognition

# DetectModerationLabels' labels that mean nudity, at any level of its taxonomy (the
# 2023 taxonomy and the older one): a label counts when it or its parent is one of them.
REKOGNITION_NUDITY = frozenset(
    {
        "Explicit",
        "Explicit Nudity",
        "Exposed Female Genitalia",
        "Exposed Male Genitalia",
        "Exposed Buttocks or Anus",
        "Exposed Female Nipple",
        "Graphic Female Nudity",
        "Graphic Male Nudity",
        "Nudity",
        "Sexual Activity",
        "Non-Explicit Nudity",
        "Non-Explicit Nudity of Intimate parts and Kissing",
    }
)


class RekognitionDetector:
    """DetectModerationLabels on the photo's bytes (no bucket needed); the score is the
    highest confidence among the nudity labels."""

    name = "rekognition"

    def __init__(self, client=None):
        self.client = client

    def _client(self):
        if self.client is None:
            import boto3

            self.client = boto3.client(
                "rekognition", region_name=settings.AWS_REKOGNITION_REGION or None
            )
        return self.client

    def scan(self, jpeg: bytes) -> Verdict:
        response = self._client().detect_moderation_labels(
            Image={"Bytes": jpeg}, MinConfidence=HOLD_FROM * 100
        )
        nudity = [
            label
            for label in response.get("ModerationLabels", [])
            if label.get("Name") in REKOGNITION_NUDITY
            or label.get("ParentName") in REKOGNITION_NUDITY
        ]
        score = max((float(label["Confidence"]) / 100 for label in nudity), default=0.0)
        labels = sorted({f"{label['Name']} {float(label['Confidence']):.0f}%" for label in nudity})
        return Verdict(score=round(score, 4), backend=self.name, labels=labels)


BACKENDS = {"nudenet": NudeNetDetector, "rekognition": RekognitionDetector}


def detector() -> Detector:
    """The configured backend: `PHOTO_SCREENING` names one of BACKENDS, or a dotted path
    to a class (tests use a fake one)."""
    choice = settings.PHOTO_SCREENING
    backend = BACKENDS.get(choice) or import_string(choice)
    return backend()


def photo_scan(jpeg: bytes) -> tuple[Verdict, str]:
    """The verdict on a photo and what follows from it (publish, hold or reject)."""
    verdict = detector().scan(jpeg)
    return verdict, screening_outcome(verdict.score)
