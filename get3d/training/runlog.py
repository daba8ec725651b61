"""Everything a training run writes besides its checkpoints, behind one :class:`RunLog`.

The run folder receives ``config.yaml`` (the resolved configuration), ``metrics.jsonl`` (one JSON
line per logged step), ``validation.jsonl`` (the validation metrics: Chamfer MMD and, when FID
during training is on, FID), ``snapshot-SSSSSSSS.png`` grids of G_ema's RGB above its
silhouettes for fixed latents (GET3D's snapshot view: psi 0.7 around a freshly computed
``w_avg``), ``curves.png`` (and ``curves-fid.png`` with FID) and TensorBoard events (when
``torch.utils.tensorboard`` imports); the console shows a progress bar and warnings. Only the
main process writes: on every other process a :class:`RunLog` is built with ``enabled=False``
and each of its methods does nothing, so the training loop calls it unconditionally.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm import tqdm

from get3d.networks import Generator
from get3d.sampling import prepare_generator
from render.backend import BackendLike
from render.camera import SNAPSHOT_VIEW, visualization_cameras

from .config import TrainConfig, config_to_dict
from .data import ValidationRefs
from .plots import plot_curves, snapshot_grid
from .validation import reference_clouds, validation_metric

__all__ = ["SNAPSHOT_PSI", "SNAPSHOT_W_AVG_SAMPLES", "RunLog"]

_GRID_SEED_OFFSET = 123_456  # the snapshot latents' own generator: seed + this
SNAPSHOT_PSI = 0.7  # GET3D's visualisations: truncation 0.7 ...
SNAPSHOT_W_AVG_SAMPLES = 100_000  # ... towards w_avg recomputed from this many z's (update_w_avg)


class RunLog:
    """The main process's output of one run (a silent no-op on the other processes).

    Args:
        run_dir: the run folder (created, with ``config.yaml``, on construction).
        config: the resolved configuration.
        enabled: True on the main process; False makes every method a no-op.
    """

    def __init__(self, run_dir: Path, config: TrainConfig, *, enabled: bool) -> None:
        self.run_dir = Path(run_dir)
        self.config = config
        self.enabled = enabled
        self._bar: tqdm | None = None
        self._writer: Any = None
        self._grid: tuple[torch.Tensor, torch.Tensor] | None = None
        self._ref_clouds: torch.Tensor | None = None
        self._last: tuple[float, int] = (0.0, 0)  # (elapsed s, images) at the last metrics line
        self._validation_started = False  # validation.jsonl written by this RunLog yet
        if enabled:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            text = yaml.safe_dump(config_to_dict(config), sort_keys=False)
            (self.run_dir / "config.yaml").write_text(text, encoding="utf-8")

    def note(self, text: str) -> None:
        """State ``text`` (one line: what data or weights the run starts from) on the console and
        as a comment at the end of ``config.yaml``."""
        if not self.enabled:
            return
        tqdm.write(text)
        with open(self.run_dir / "config.yaml", "a", encoding="utf-8") as f:
            f.write(f"# {text}\n")

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    @property
    def validation_path(self) -> Path:
        return self.run_dir / "validation.jsonl"

    def start(self, step: int, total: int, images: int) -> None:
        """Open the progress bar (at ``step`` of ``total``) and TensorBoard; note ``images`` seen."""
        if not self.enabled:
            return
        self._last = (0.0, images)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.run_dir / "tensorboard"))
        except Exception:  # TensorBoard is optional
            self._writer = None
        self._bar = tqdm(
            total=total, initial=step, unit="step", disable=not self.config.progress, dynamic_ncols=True
        )

    def trim(self, step: int) -> None:
        """Drop the metric and validation lines logged after ``step`` (the checkpoint resumed from)."""
        if not self.enabled:
            return
        for log in (self.metrics_path, self.validation_path):
            if log.is_file():
                kept = [
                    ln
                    for ln in log.read_text(encoding="utf-8").splitlines()
                    if ln.strip() and json.loads(ln)["step"] <= step
                ]
                log.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")

    def snapshot(self, step: int, G_ema: Generator, backend: BackendLike = "auto") -> None:
        """Write ``snapshot-<step>.png`` of ``G_ema``'s fixed-latent samples (rendered with the
        run's rasterizer context ``backend``) and redraw the curves.

        As GET3D's visualisations: both mappings' ``w_avg`` are first recomputed from
        :data:`SNAPSHOT_W_AVG_SAMPLES` z's (:func:`get3d.sampling.prepare_generator`, seeded by
        the run's seed), and the latents are mapped with truncation :data:`SNAPSHOT_PSI`. The
        tracked ``w_avg`` is restored afterwards, so snapshots never change the training state
        or its checkpoints."""
        if not self.enabled:
            return
        device = G_ema.mapping.fc0.weight.device
        if self._grid is None:
            gen = torch.Generator().manual_seed(self.config.seed + _GRID_SEED_OFFSET)
            n = self.config.snapshot_grid
            self._grid = (
                torch.randn(n, G_ema.config.z_dim, generator=gen),
                torch.randn(n, G_ema.config.z_dim, generator=gen),
            )
        cams = visualization_cameras(device=device)[[SNAPSHOT_VIEW] * self.config.snapshot_grid]
        tracked = [m.w_avg.clone() for m in (G_ema.mapping, G_ema.mapping_geo)]
        try:
            with torch.no_grad():
                prepare_generator(G_ema, w_avg_samples=SNAPSHOT_W_AVG_SAMPLES, seed=self.config.seed)
                ws = G_ema.map_latents(
                    self._grid[0].to(device), self._grid[1].to(device), truncation_psi=SNAPSHOT_PSI
                )
                out = G_ema.render(ws, cams, backend=backend)
        finally:
            with torch.no_grad():
                for m, w_avg in zip((G_ema.mapping, G_ema.mapping_geo), tracked, strict=True):
                    m.w_avg.copy_(w_avg)
        snapshot_grid(out.rgb, out.mask).save(self.run_dir / f"snapshot-{step:08d}.png")
        self._write_curves()

    def validate(self, step: int, G_ema: Generator, refs: ValidationRefs) -> float | None:
        """The validation metric of ``G_ema`` at ``step``, appended to ``validation.jsonl`` (which
        step 0 starts afresh); None on the other processes."""
        if not self.enabled:
            return None
        if self._ref_clouds is None:
            self._ref_clouds = reference_clouds(refs)
        metric = validation_metric(G_ema, self._ref_clouds, self.config)
        self._validation_line({"step": step, "mmd_cd": metric})
        return metric

    def fid(self, step: int, value: float | None, seconds: float) -> None:
        """Record the FID ``value`` of ``G_ema`` at ``step`` (:mod:`get3d.training.fid`, computed
        in ``seconds``): a ``validation.jsonl`` line, TensorBoard ``val/fid`` and ``curves-fid.png``."""
        if not self.enabled or value is None:
            return
        images = self.config.fid_images
        record = {"step": step, "fid": value, "fid_images": images, "fid_seconds": round(seconds, 3)}
        self._validation_line(record)
        if self._writer is not None:
            self._writer.add_scalar("val/fid", value, step)
        tqdm.write(f"step {step}: FID {value:.4g} ({self.config.fid_images} images, {seconds:.1f} s)")
        self._write_fid_curve()

    def _validation_line(self, record: dict) -> None:
        """Append ``record`` to ``validation.jsonl``; the first line of a fresh run (step 0)
        starts the file afresh."""
        mode = "w" if record["step"] == 0 and not self._validation_started else "a"
        self._validation_started = True
        with open(self.validation_path, mode, encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def step(
        self,
        step: int,
        images: int,
        elapsed: float,
        stats: dict[str, float],
        counters: dict[str, int],
        bad_values: int,
        write: bool,
    ) -> None:
        """Advance the bar past ``step``; when ``write``, append its metrics line (throughput since
        the previous line, ``counters``, ``stats``) to ``metrics.jsonl`` and TensorBoard. A warning
        names the step when ``bad_values`` non-finite gradient values were replaced."""
        if not self.enabled:
            return
        assert self._bar is not None, "RunLog.start was not called"
        self._bar.update(1)
        if write:
            last_time, last_images = self._last
            ips = (images - last_images) / max(elapsed - last_time, 1e-9)
            self._last = (elapsed, images)
            record = {
                "step": step,
                "kimg": images / 1000,
                "time_s": round(elapsed, 3),
                "images_per_s": ips,
                "nonfinite_step": bool(bad_values),
                **counters,
                **stats,
            }
            with open(self.metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            self._bar.set_postfix(
                {
                    "img/s": f"{ips:.2f}",
                    "G": f"{stats.get('G/loss', math.nan):.3f}",
                    "D": f"{stats.get('D/loss', math.nan):.3f}",
                }
            )
            if self._writer is not None:
                for key, v in stats.items():
                    self._writer.add_scalar(key, v, step)
        if bad_values:
            tqdm.write(f"step {step}: {bad_values} non-finite gradient values replaced")

    def close(self) -> None:
        """Close the bar, draw the final curves and close TensorBoard."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        self._write_curves()
        if self._writer is not None:
            self._writer.close()

    def _write_curves(self) -> None:
        if not self.metrics_path.is_file():
            return
        rows = [
            json.loads(line)
            for line in self.metrics_path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        keys = ["G/loss", "D/loss", "G/adv_mask", "D/loss_mask"]
        window = max(1, len(rows) // 50)
        series = {}
        for k in keys:
            pts = [(r["step"], r[k]) for r in rows if k in r]
            series[k] = [  # moving mean over the last `window` logged values
                (x, sum(y for _, y in pts[max(0, i - window + 1) : i + 1]) / (i + 1 - max(0, i - window + 1)))
                for i, (x, _) in enumerate(pts)
            ]
        title = f"GET3D training losses (moving mean over {window} log lines)"
        plot_curves(series, self.run_dir / "curves.png", title=title)

    def _write_fid_curve(self) -> None:
        if not self.validation_path.is_file():
            return
        lines = self.validation_path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(ln) for ln in lines if ln.strip()]
        points = [(r["step"], r["fid"]) for r in rows if "fid" in r]
        if points:
            title = f"FID on the val split ({self.config.fid_images} generated images)"
            plot_curves({"FID": points}, self.run_dir / "curves-fid.png", title=title)
