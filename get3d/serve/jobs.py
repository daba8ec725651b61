"""Shape jobs for the page: one worker thread, progress per job, a cache of recent shapes.

The generator and its rasterizer context are used by one thread only (the worker), so requests
never run concurrently. A new request supersedes the queued ones (the page shows only the latest);
a request already made is answered from the cache at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

from .shapes import EmptyShapeError, Shape, ShapeMaker, ShapeRequest

__all__ = ["JobState", "JobStatus", "ShapeJobs"]

_log = logging.getLogger(__name__)


class JobState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job: state, current stage, fraction done, elapsed seconds, and the shape's
    summary (done) or a message for the page (error)."""

    id: int
    state: JobState
    stage: str
    fraction: float
    elapsed: float
    shape: dict[str, object] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "state": self.state.value,
            "stage": self.stage,
            "fraction": round(self.fraction, 3),
            "elapsed": round(self.elapsed, 3),
            "shape": self.shape,
            "error": self.error,
        }


class _Job:
    def __init__(self, job_id: int, request: ShapeRequest) -> None:
        self.id = job_id
        self.request = request
        self.state = JobState.QUEUED
        self.stage = "queued"
        self.fraction = 0.0
        self.start = time.perf_counter()
        self.end: float | None = None
        self.shape: Shape | None = None
        self.error: str | None = None
        self.future: Future | None = None


class ShapeJobs:
    """Runs :class:`ShapeMaker` requests in the background and keeps the last ``keep`` shapes.

    Args:
        maker: what makes the shapes.
        keep: how many recent shapes stay downloadable (and answer repeated requests at once).
    """

    def __init__(self, maker: ShapeMaker, *, keep: int = 16) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep: expected a positive int, got {keep!r}")
        self.maker = maker
        self.keep = keep
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="get3d-serve")
        self._jobs: OrderedDict[int, _Job] = OrderedDict()
        self._shapes: OrderedDict[int, Shape] = OrderedDict()
        self._next_job = 1

    def submit(self, request: ShapeRequest) -> int:
        """Queue ``request`` (cancelling queued, not yet running jobs); returns the job id. A request
        whose shape is still kept is done at once."""
        with self._lock:
            job = _Job(self._next_job, request)
            self._next_job += 1
            self._jobs[job.id] = job
            while len(self._jobs) > 4 * self.keep:
                self._jobs.popitem(last=False)
            cached = next((s for s in reversed(self._shapes.values()) if s.request == request), None)
            if cached is not None:
                self._shapes.move_to_end(cached.id)
                job.shape, job.state, job.stage, job.fraction = cached, JobState.DONE, "done (kept)", 1.0
                job.end = job.start
                return job.id
            for other in self._jobs.values():
                if other.state is JobState.QUEUED and other.future is not None and other.future.cancel():
                    other.state, other.stage, other.end = (
                        JobState.CANCELLED,
                        "superseded",
                        time.perf_counter(),
                    )
            job.future = self._executor.submit(self._run, job)
            return job.id

    def _run(self, job: _Job) -> None:
        def progress(stage: str, fraction: float) -> None:
            with self._lock:
                job.stage, job.fraction = stage, fraction

        with self._lock:
            job.state = JobState.RUNNING
        try:
            shape = self.maker.make(job.request, progress)
        except EmptyShapeError as err:
            self._finish(job, error=str(err))
        except Exception as err:  # shown on the page as one line; the traceback goes to the log
            _log.exception("shape job %d failed", job.id)
            self._finish(job, error=f"generation failed ({type(err).__name__}: {err})")
        else:
            self._finish(job, shape=shape)

    def _finish(self, job: _Job, *, shape: Shape | None = None, error: str | None = None) -> None:
        with self._lock:
            job.end = time.perf_counter()
            if shape is not None:
                job.shape, job.state, job.fraction, job.stage = shape, JobState.DONE, 1.0, "done"
                self._shapes[shape.id] = shape
                while len(self._shapes) > self.keep:
                    self._shapes.popitem(last=False)
            else:
                job.error, job.state, job.stage = error, JobState.ERROR, "failed"

    def status(self, job_id: int) -> JobStatus | None:
        """The job's snapshot, or None when no such job is kept."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            end = job.end if job.end is not None else time.perf_counter()
            return JobStatus(
                id=job.id,
                state=job.state,
                stage=job.stage,
                fraction=job.fraction,
                elapsed=end - job.start,
                shape=None if job.shape is None else job.shape.summary(),
                error=job.error,
            )

    def shape(self, shape_id: int) -> Shape | None:
        """A kept shape by id (None once it has been dropped)."""
        with self._lock:
            return self._shapes.get(shape_id)

    def wait(self, job_id: int, timeout: float | None = None) -> JobStatus | None:
        """Block until the job has finished (for scripts and tests); returns its status."""
        with self._lock:
            job = self._jobs.get(job_id)
            future = None if job is None else job.future
        if future is not None:
            try:
                future.result(timeout)
            except Exception:  # cancelled: the status says so
                pass
        return self.status(job_id)

    def close(self) -> None:
        """Stop the worker after the running job (queued jobs are cancelled)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
