"""The training loop: :func:`train` runs (or resumes) one run into a run folder.

Per step (spec §7): Gmain, Greg (GET3D's zero-gradient Adam step, every ``g_reg_interval``),
Dmain, Dreg (lazy R1, every ``d_reg_interval``); then ``w_avg`` (EMA of the fakes' w, one update
per step with the global-batch mean) and G_ema. Gradients are summed over processes, sanitised
(NaN/Inf replaced and counted) and applied. The run folder receives ``config.yaml`` (resolved),
``metrics.jsonl`` (one line per ``log_every`` steps), ``snapshot-SSSSSSSS.png`` grids of
RGB | silhouette for fixed latents (G_ema, GET3D's snapshot view), ``curves.png``, checkpoints
(:mod:`get3d.training.checkpoint`) and TensorBoard events when ``torch.utils.tensorboard`` imports.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from tqdm import tqdm

from get3d.networks import Discriminator, Generator
from render.camera import SNAPSHOT_VIEW, visualization_cameras

from .checkpoint import CheckpointManager, capture_rng_state, load_checkpoint, restore_rng_state
from .config import TrainConfig, config_to_dict
from .data import build_dataset, load_grid, real_batches
from .distributed import DistInfo, all_reduce_gradients, all_reduce_sum, init_distributed
from .optim import ema_beta, lazy_adam, sanitize_gradients, update_ema
from .phases import Phase, phases_for_step
from .plots import plot_curves, snapshot_grid
from .step import RealSchedule, phase_generator, run_d_main, run_d_reg, run_g_main, sample_fake_inputs
from .validation import reference_clouds, validation_metric

__all__ = ["TrainResult", "train"]


@dataclass(frozen=True)
class TrainResult:
    """What a call to :func:`train` did.

    Attributes:
        run_dir: the run folder.
        start_step, steps: first step run by this call and steps done in total.
        images_seen: real images shown to D in total.
        checkpoint: the last checkpoint written.
        finished: True when the run reached ``total_kimg`` (False: stopped by ``max_minutes`` or
            ``stop_after``).
        nonfinite_steps: steps of this call whose gradients held NaN/Inf (sanitised).
    """

    run_dir: Path
    start_step: int
    steps: int
    images_seen: int
    checkpoint: Path | None
    finished: bool
    nonfinite_steps: int


def _setup_backends(config: TrainConfig, device: torch.device) -> None:
    if config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
        torch.backends.cudnn.benchmark = False
    if device.type == "cuda":  # TF32 switches exist for CUDA only
        torch.backends.cuda.matmul.allow_tf32 = config.tf32
        torch.backends.cudnn.allow_tf32 = config.tf32


def _optimizer_step(
    module: torch.nn.Module, opt: torch.optim.Optimizer, info: DistInfo, nan_to: float
) -> int:
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    all_reduce_gradients(params, info)
    bad = sanitize_gradients(params, nan_to)
    opt.step()
    return bad


def _reduce_stats(stats: dict[str, float], info: DistInfo, device: torch.device) -> dict[str, float]:
    if not info.distributed or not stats:
        return stats
    keys = sorted(stats)
    t = torch.tensor([stats[k] for k in keys], dtype=torch.float64, device=device)
    all_reduce_sum(t, info)
    return dict(zip(keys, t.tolist(), strict=True))


def _state(G, G_ema, D, opt_G, opt_D, config, step, images, counters) -> dict:
    return {
        "G": G.state_dict(),
        "G_ema": G_ema.state_dict(),
        "D": D.state_dict(),
        "opt_G": opt_G.state_dict(),
        "opt_D": opt_D.state_dict(),
        "images_seen": images,
        "data_position": images,
        "counters": counters,
        "rng": capture_rng_state(),
        "config": config_to_dict(config),
    }


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool | str | Path = False,
    stop_after: int | None = None,
    info: DistInfo | None = None,
) -> TrainResult:
    """Train (or resume) a run.

    Args:
        config: the resolved configuration.
        run_dir: run folder (created; receives the resolved config, metrics, pictures, checkpoints).
        resume: False starts from scratch; True continues from the latest checkpoint in ``run_dir``
            (from scratch when there is none); a path continues from that checkpoint file.
        stop_after: stop (with a checkpoint) after this many steps of this call (tests, chunked runs).
        info: process placement (default: :func:`init_distributed` from the environment).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
    info = init_distributed(config.device) if info is None else info
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _train(config, Path(run_dir), resume, stop_after, info)
    finally:  # the run's process-wide switches do not outlive it
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _train(
    config: TrainConfig, run_dir: Path, resume: bool | str | Path, stop_after: int | None, info: DistInfo
) -> TrainResult:
    device = info.device
    _setup_backends(config, device)
    rounds, rem = divmod(config.batch, config.batch_gpu * info.world_size)
    if rem or rounds < 1:
        raise ValueError(
            f"batch: expected a multiple of batch_gpu * processes "
            f"({config.batch_gpu} * {info.world_size}), got {config.batch}"
        )
    run_dir = Path(run_dir)
    manager = CheckpointManager(run_dir, config.keep_checkpoints)
    if resume is False and manager.latest() is not None:
        raise FileExistsError(
            f"run_dir: expected a new run folder, got {str(run_dir)!r} which already holds checkpoints "
            f"(latest {manager.latest().name}); resume it (--resume) or choose another folder (--out)"
        )
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(
            yaml.safe_dump(config_to_dict(config), sort_keys=False), encoding="utf-8"
        )

    if info.distributed and not info.is_main:  # rank 0 builds a missing built-in set alone
        torch.distributed.barrier()
    dataset, val_refs = build_dataset(config, progress=config.progress and info.is_main)
    if info.distributed and info.is_main:
        torch.distributed.barrier()
    schedule = RealSchedule(len(dataset), config.batch, config.seed)

    torch.manual_seed(config.seed)
    G = Generator(config.generator, load_grid(config)).to(device)
    D = Discriminator(config.discriminator).to(device)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    betas = (config.optim.beta1, config.optim.beta2)
    opt_G = lazy_adam(G.parameters(), config.optim.g_lr, betas, config.optim.eps, config.loss.g_reg_interval)
    opt_D = lazy_adam(D.parameters(), config.optim.d_lr, betas, config.optim.eps, config.loss.d_reg_interval)

    step, images = 0, 0
    counters = {"nonfinite_steps": 0, "nonfinite_values": 0}
    source = manager.latest() if resume is True else (Path(resume) if resume else None)
    if source is not None:
        ckpt = load_checkpoint(source)  # on the CPU: RNG states must stay there; modules copy
        G.load_state_dict(ckpt["G"])
        G_ema.load_state_dict(ckpt["G_ema"])
        D.load_state_dict(ckpt["D"])
        opt_G.load_state_dict(ckpt["opt_G"])
        opt_D.load_state_dict(ckpt["opt_D"])
        step, images = int(ckpt["step"]), int(ckpt["images_seen"])
        counters = dict(ckpt["counters"])
        restore_rng_state(ckpt["rng"])
    start_step = step

    grid_gen = torch.Generator().manual_seed(config.seed + 123_456)
    n_grid = config.snapshot_grid
    grid_z = (
        torch.randn(n_grid, G.config.z_dim, generator=grid_gen),
        torch.randn(n_grid, G.config.z_dim, generator=grid_gen),
    )
    grid_cams = visualization_cameras(device=device)[[SNAPSHOT_VIEW] * n_grid]

    writer = None
    if info.is_main:
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(run_dir / "tensorboard"))
        except Exception:  # TensorBoard is optional
            writer = None

    def snapshot(at: int) -> None:
        with torch.no_grad():
            ws = G_ema.map_latents(grid_z[0].to(device), grid_z[1].to(device))
            out = G_ema.render(ws, grid_cams)
        snapshot_grid(out.rgb, out.mask).save(run_dir / f"snapshot-{at:08d}.png")
        _write_curves(metrics_path, run_dir / "curves.png")

    def save(at: int, metric: float | None = None) -> Path | None:
        path = None
        if info.is_main:
            state = _state(G, G_ema, D, opt_G, opt_D, config, at, images, counters)
            path = manager.save(state, at, metric)
        if info.distributed:
            torch.distributed.barrier()
        return path

    total = config.total_steps
    end = total if stop_after is None else min(total, step + stop_after)
    scale = config.batch_gpu / config.batch
    t_start = time.perf_counter()
    t_last, img_last = t_start, images
    last_ckpt = None
    metrics_path = run_dir / "metrics.jsonl"
    bar = tqdm(
        total=total,
        initial=step,
        unit="step",
        disable=not (config.progress and info.is_main),
        dynamic_ncols=True,
    )
    if info.is_main and step == 0:
        snapshot(0)
    for log in (metrics_path, run_dir / "validation.jsonl"):
        if info.is_main and log.is_file():  # drop lines logged after the checkpoint we resume from
            kept = [
                ln
                for ln in log.read_text(encoding="utf-8").splitlines()
                if ln.strip() and json.loads(ln)["step"] <= step
            ]
            log.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")
    micro = [info.rank * rounds + r for r in range(rounds)]
    batches = real_batches(dataset, schedule, step, end, micro, config.batch_gpu, config.data.workers, device)
    ref_clouds = None
    if config.val_every and val_refs is not None and info.is_main and step == 0:  # the untrained baseline
        ref_clouds = reference_clouds(val_refs)
        with open(run_dir / "validation.jsonl", "w", encoding="utf-8") as f:
            f.write(json.dumps({"step": 0, "mmd_cd": validation_metric(G_ema, ref_clouds, config)}) + "\n")
    finished_by_time = False
    while step < end:
        stats: dict[str, float] = {}
        reals = next(batches)
        bad_step = 0
        w_sum_geo = w_sum_tex = None
        for phase in phases_for_step(
            step, config.loss.g_reg_interval, config.loss.d_reg_interval, config.loss.greg_zero_steps
        ):
            if phase is Phase.GMAIN:
                G.requires_grad_(True)
                D.requires_grad_(False)
                opt_G.zero_grad(set_to_none=True)
                for k in micro:
                    fake = sample_fake_inputs(
                        G, config.batch_gpu, config, phase_generator(config.seed, step, phase, k), device
                    )
                    for key, v in run_g_main(G, D, fake, config, scale).items():
                        stats[key] = stats.get(key, 0.0) + v
                bad_step += _optimizer_step(G, opt_G, info, config.optim.nan_to)
            elif phase is Phase.GREG:
                opt_G.zero_grad(set_to_none=True)
                _optimizer_step(G, opt_G, info, config.optim.nan_to)  # zero gradients: GET3D's Greg
            elif phase is Phase.DMAIN:
                G.requires_grad_(False)
                D.requires_grad_(True)
                opt_D.zero_grad(set_to_none=True)
                for k, (img, cond) in zip(micro, reals, strict=True):
                    fake = sample_fake_inputs(
                        G, config.batch_gpu, config, phase_generator(config.seed, step, phase, k), device
                    )
                    part, wg, wt = run_d_main(G, D, fake, img, cond, config, scale)
                    w_sum_geo = wg if w_sum_geo is None else w_sum_geo + wg
                    w_sum_tex = wt if w_sum_tex is None else w_sum_tex + wt
                    for key, v in part.items():
                        stats[key] = stats.get(key, 0.0) + v
                bad_step += _optimizer_step(D, opt_D, info, config.optim.nan_to)
            else:  # Phase.DREG
                D.requires_grad_(True)
                opt_D.zero_grad(set_to_none=True)
                for img, cond in reals:
                    for key, v in run_d_reg(D, img, cond, config, scale).items():
                        stats[key] = stats.get(key, 0.0) + v
                bad_step += _optimizer_step(D, opt_D, info, config.optim.nan_to)
        # w_avg: one EMA update per step with the global batch's mean w (tracked by G, copied to G_ema)
        with torch.no_grad():
            w_sums = all_reduce_sum(torch.stack([w_sum_geo, w_sum_tex]), info) / config.batch
            for mapping, mean in ((G.mapping_geo, w_sums[0]), (G.mapping, w_sums[1])):
                mapping.w_avg.copy_(mean.to(mapping.w_avg.dtype).lerp(mapping.w_avg, mapping.w_avg_beta))
        step += 1
        images += config.batch
        ema_kimg = config.optim.ema_kimg if config.optim.ema_kimg is not None else config.batch * 10 / 32
        update_ema(G_ema, G, ema_beta(config.batch, images, ema_kimg, config.optim.ema_rampup))
        bad_total = int(
            all_reduce_sum(torch.tensor([bad_step], dtype=torch.float64, device=device), info).item()
        )
        if bad_total:
            counters["nonfinite_steps"] += 1
            counters["nonfinite_values"] += bad_total
        stats = _reduce_stats(stats, info, device)
        bar.update(1)
        now = time.perf_counter()
        if info.is_main and (step % max(config.log_every, 1) == 0 or step == end):
            ips = (images - img_last) / max(now - t_last, 1e-9)
            t_last, img_last = now, images
            record = {
                "step": step,
                "kimg": images / 1000,
                "time_s": round(now - t_start, 3),
                "images_per_s": ips,
                "nonfinite_step": bool(bad_total),
                **counters,
                **stats,
            }
            with open(metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            bar.set_postfix(
                {
                    "img/s": f"{ips:.2f}",
                    "G": f"{stats.get('G/loss', math.nan):.3f}",
                    "D": f"{stats.get('D/loss', math.nan):.3f}",
                }
            )
            if writer is not None:
                for key, v in stats.items():
                    writer.add_scalar(key, v, step)
        if bad_total and info.is_main:
            tqdm.write(f"step {step}: {bad_total} non-finite gradient values replaced")
        time_up = config.max_minutes is not None and (now - t_start) / 60 >= config.max_minutes
        if info.is_main and (
            (config.snapshot_every and step % config.snapshot_every == 0) or step == end or time_up
        ):
            snapshot(step)
        metric = None
        if (
            config.val_every
            and val_refs is not None
            and (step % config.val_every == 0 or step == end or time_up)
        ):
            if info.is_main and ref_clouds is None:
                ref_clouds = reference_clouds(val_refs)
            metric = validation_metric(G_ema, ref_clouds, config) if info.is_main else None
            if info.is_main:
                with open(run_dir / "validation.jsonl", "a", encoding="utf-8") as f:
                    f.write(json.dumps({"step": step, "mmd_cd": metric}) + "\n")
        if (config.checkpoint_every and step % config.checkpoint_every == 0) or step == end or time_up:
            last_ckpt = save(step, metric) or last_ckpt
        if time_up:
            finished_by_time = True
            break
    bar.close()
    if info.is_main:
        _write_curves(metrics_path, run_dir / "curves.png")
    if writer is not None:
        writer.close()
    return TrainResult(
        run_dir,
        start_step,
        step,
        images,
        last_ckpt,
        step >= total and not finished_by_time,
        counters["nonfinite_steps"],
    )


def _write_curves(metrics_path: Path, out: Path) -> None:
    if not metrics_path.is_file():
        return
    rows = [
        json.loads(line) for line in metrics_path.read_text(encoding="utf-8").splitlines() if line.strip()
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
    plot_curves(series, out, title=f"GET3D training losses (moving mean over {window} log lines)")
