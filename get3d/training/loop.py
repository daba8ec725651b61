"""The training loop: :func:`train` runs (or resumes) one run into a run folder.

Per step (spec §7): Gmain, Greg (GET3D's zero-gradient Adam step, every ``g_reg_interval``),
Dmain, Dreg (lazy R1, every ``d_reg_interval``); then ``w_avg`` (EMA of the fakes' w, one update
per step with the global-batch mean) and G_ema. Gradients are summed over processes, sanitised
(NaN/Inf replaced and counted) and applied. The main process writes checkpoints
(:mod:`get3d.training.checkpoint`) and, through :class:`~get3d.training.runlog.RunLog`, the
resolved ``config.yaml``, ``metrics.jsonl``, snapshots, curves and TensorBoard events.

The code follows a run's life: set-up (:func:`_build_run`), one step (:func:`_train_step` and its
phases), checkpointing (:func:`_save_checkpoint`) and the run itself (:func:`_train`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import Dataset

from get3d.networks import Discriminator, Generator, load_official_checkpoint
from render.backend import RasterContext

from .checkpoint import CheckpointManager, capture_rng_state, load_checkpoint, restore_rng_state
from .config import TrainConfig, config_to_dict
from .data import ValidationRefs, build_dataset, load_grid, real_batches, split_note
from .distributed import DistInfo, all_reduce_gradients, all_reduce_sum, init_distributed, render_context
from .fid import TrainingFID, check_fid_weights, fid_due, fid_images_of
from .optim import ema_beta, lazy_adam, sanitize_gradients, update_ema
from .phases import Phase, phases_for_step
from .runlog import RunLog
from .step import RealSchedule, phase_generator, run_d_main, run_d_reg, run_g_main, sample_fake_inputs

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


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool | str | Path = False,
    init_from: str | Path | None = None,
    stop_after: int | None = None,
    info: DistInfo | None = None,
) -> TrainResult:
    """Train (or resume) a run.

    Args:
        config: the resolved configuration.
        run_dir: run folder (created; receives the resolved config, metrics, pictures, checkpoints).
        resume: False starts from scratch; True continues from the latest checkpoint in ``run_dir``
            (from scratch when there is none); a path continues from that checkpoint file.
        init_from: a new run (step 0, fresh optimisers, the run's seed for everything else) whose
            G, G_ema and D start from the weights of this checkpoint: an official GET3D file
            (``{'G', 'G_ema', 'D'}``) or one of ours, as GET3D's ``--resume_pretrain``. The
            weights must fit ``config``'s sizes. Not together with ``resume``.
        stop_after: stop (with a checkpoint) after this many steps of this call (tests, chunked runs).
        info: process placement (default: :func:`init_distributed` from the environment).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
    if init_from is not None and resume is not False:
        raise ValueError(
            f"init_from: starts a new run from a checkpoint's weights; it cannot be combined with resume "
            f"(got init_from={str(init_from)!r}, resume={resume!r})"
        )
    info = init_distributed(config.device) if info is None else info
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _train(config, Path(run_dir), resume, init_from, stop_after, info)
    finally:  # the run's process-wide switches do not outlive it
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


# ------------------------------------------------------------------------------------------- set-up


@dataclass
class _Run:
    """The state a run carries from step to step (this process's share of it)."""

    config: TrainConfig
    info: DistInfo
    G: Generator
    G_ema: Generator
    D: Discriminator
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    micro: list[int]  # this process's micro-batch indices within the global batch
    ctx: RasterContext  # the process's one rasterizer context, used by every render of the run
    step: int = 0
    images: int = 0
    counters: dict[str, int] = field(default_factory=lambda: {"nonfinite_steps": 0, "nonfinite_values": 0})


def _micro_batches(config: TrainConfig, info: DistInfo) -> list[int]:
    rounds, rem = divmod(config.batch, config.batch_gpu * info.world_size)
    if rem or rounds < 1:
        raise ValueError(
            f"batch: expected a multiple of batch_gpu * processes "
            f"({config.batch_gpu} * {info.world_size}), got {config.batch}"
        )
    return [info.rank * rounds + r for r in range(rounds)]


def _checkpoints(config: TrainConfig, run_dir: Path, resume: bool | str | Path) -> CheckpointManager:
    manager = CheckpointManager(run_dir, config.keep_checkpoints)
    if resume is False and manager.latest() is not None:
        raise FileExistsError(
            f"run_dir: expected a new run folder, got {str(run_dir)!r} which already holds checkpoints "
            f"(latest {manager.latest().name}); resume it (--resume) or choose another folder (--out)"
        )
    return manager


def _build_data(config: TrainConfig, info: DistInfo) -> tuple[Dataset, ValidationRefs | None]:
    if info.distributed and not info.is_main:  # rank 0 builds a missing built-in set alone
        torch.distributed.barrier()
    dataset, val_refs = build_dataset(config, progress=config.progress and info.is_main)
    if info.distributed and info.is_main:
        torch.distributed.barrier()
    return dataset, val_refs


def _init_weights(run: _Run, path: Path) -> None:
    """G, G_ema and D of ``run`` take the weights of the checkpoint at ``path`` (official or ours;
    read with ``weights_only=True``, loaded strictly, on the run's grid)."""
    c = run.config
    try:
        grid = None if c.generator.flexicubes else run.G.tet_grid  # FlexiCubes: its voxel grid
        nets = load_official_checkpoint(path, c.generator, c.discriminator, grid=grid)
    except (FileNotFoundError, ValueError) as err:
        raise type(err)(f"init_from: {str(err).removeprefix('path: ')}") from None
    for role in ("G", "G_ema", "D"):
        source = getattr(nets, role)
        if source is None:
            held = [r for r in ("G", "G_ema", "D") if getattr(nets, r) is not None]
            raise ValueError(f"init_from: expected G, G_ema and D weights in {str(path)!r}, it holds {held}")
        getattr(run, role).load_state_dict(source.state_dict())


def _build_run(
    config: TrainConfig, info: DistInfo, micro: list[int], source: Path | None, init_from: Path | None = None
) -> _Run:
    """Networks and optimisers from the seed, then the state of checkpoint ``source`` (if any), or
    only the weights of ``init_from`` (a new run)."""
    torch.manual_seed(config.seed)
    G = Generator(config.generator, load_grid(config)).to(info.device)
    D = Discriminator(config.discriminator).to(info.device)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    betas = (config.optim.beta1, config.optim.beta2)
    opt_G = lazy_adam(G.parameters(), config.optim.g_lr, betas, config.optim.eps, config.loss.g_reg_interval)
    opt_D = lazy_adam(D.parameters(), config.optim.d_lr, betas, config.optim.eps, config.loss.d_reg_interval)
    run = _Run(config, info, G, G_ema, D, opt_G, opt_D, micro, render_context(config.render, info))
    if source is not None:
        ckpt = load_checkpoint(source)  # on the CPU: RNG states must stay there; modules copy
        for name in ("G", "G_ema", "D", "opt_G", "opt_D"):
            getattr(run, name).load_state_dict(ckpt[name])
        run.step, run.images = int(ckpt["step"]), int(ckpt["images_seen"])
        run.counters = dict(ckpt["counters"])
        restore_rng_state(ckpt["rng"])
    elif init_from is not None:
        _init_weights(run, init_from)
    return run


# ----------------------------------------------------------------------------------------- one step


def _add(stats: dict[str, float], part: dict[str, float]) -> None:
    for key, v in part.items():
        stats[key] = stats.get(key, 0.0) + v


def _g_main(run: _Run, phase: Phase, stats: dict[str, float]) -> int:
    c = run.config
    run.G.requires_grad_(True)
    run.D.requires_grad_(False)
    run.opt_G.zero_grad(set_to_none=True)
    for k in run.micro:
        gen = phase_generator(c.seed, run.step, phase, k)
        fake = sample_fake_inputs(run.G, c.batch_gpu, c, gen, run.info.device)
        _add(stats, run_g_main(run.G, run.D, fake, c, c.batch_gpu / c.batch, backend=run.ctx))
    return _optimizer_step(run.G, run.opt_G, run.info, c.optim.nan_to)


def _g_reg(run: _Run) -> None:
    run.opt_G.zero_grad(set_to_none=True)
    _optimizer_step(run.G, run.opt_G, run.info, run.config.optim.nan_to)  # zero gradients: GET3D's Greg


def _d_main(
    run: _Run, phase: Phase, reals: list, stats: dict[str, float]
) -> tuple[int, torch.Tensor, torch.Tensor]:
    """Returns the replaced gradient values and the sums of the fakes' geometry and texture w."""
    c = run.config
    run.G.requires_grad_(False)
    run.D.requires_grad_(True)
    run.opt_D.zero_grad(set_to_none=True)
    w_geo = w_tex = None
    for k, (img, cond) in zip(run.micro, reals, strict=True):
        gen = phase_generator(c.seed, run.step, phase, k)
        fake = sample_fake_inputs(run.G, c.batch_gpu, c, gen, run.info.device)
        part, wg, wt = run_d_main(run.G, run.D, fake, img, cond, c, c.batch_gpu / c.batch, backend=run.ctx)
        w_geo = wg if w_geo is None else w_geo + wg
        w_tex = wt if w_tex is None else w_tex + wt
        _add(stats, part)
    return _optimizer_step(run.D, run.opt_D, run.info, c.optim.nan_to), w_geo, w_tex


def _d_reg(run: _Run, reals: list, stats: dict[str, float]) -> int:
    c = run.config
    run.D.requires_grad_(True)
    run.opt_D.zero_grad(set_to_none=True)
    for img, cond in reals:
        _add(stats, run_d_reg(run.D, img, cond, c, c.batch_gpu / c.batch))
    return _optimizer_step(run.D, run.opt_D, run.info, c.optim.nan_to)


def _train_step(run: _Run, reals: list) -> tuple[dict[str, float], int]:
    """One step: its phases, then ``w_avg``, G_ema and the counters. Returns the step's statistics
    (summed over processes) and the non-finite gradient values replaced (over all processes)."""
    c, info = run.config, run.info
    stats: dict[str, float] = {}
    bad = 0
    w_sums = None
    for phase in phases_for_step(
        run.step, c.loss.g_reg_interval, c.loss.d_reg_interval, c.loss.greg_zero_steps
    ):
        if phase is Phase.GMAIN:
            bad += _g_main(run, phase, stats)
        elif phase is Phase.GREG:
            _g_reg(run)
        elif phase is Phase.DMAIN:
            part, *w_sums = _d_main(run, phase, reals, stats)
            bad += part
        else:  # Phase.DREG
            bad += _d_reg(run, reals, stats)
    # w_avg: one EMA update per step with the global batch's mean w (tracked by G, copied to G_ema)
    with torch.no_grad():
        w_mean = all_reduce_sum(torch.stack(w_sums), info) / c.batch
        for mapping, mean in ((run.G.mapping_geo, w_mean[0]), (run.G.mapping, w_mean[1])):
            mapping.w_avg.copy_(mean.to(mapping.w_avg.dtype).lerp(mapping.w_avg, mapping.w_avg_beta))
    run.step += 1
    run.images += c.batch
    ema_kimg = c.optim.ema_kimg if c.optim.ema_kimg is not None else c.batch * 10 / 32
    update_ema(run.G_ema, run.G, ema_beta(c.batch, run.images, ema_kimg, c.optim.ema_rampup))
    bad_total = int(all_reduce_sum(torch.tensor([bad], dtype=torch.float64, device=info.device), info).item())
    if bad_total:
        run.counters["nonfinite_steps"] += 1
        run.counters["nonfinite_values"] += bad_total
    return _reduce_stats(stats, info, info.device), bad_total


# ------------------------------------------------------------------------------------ checkpointing


def _state(run: _Run) -> dict:
    return {
        "G": run.G.state_dict(),
        "G_ema": run.G_ema.state_dict(),
        "D": run.D.state_dict(),
        "opt_G": run.opt_G.state_dict(),
        "opt_D": run.opt_D.state_dict(),
        "images_seen": run.images,
        "data_position": run.images,
        "counters": run.counters,
        "rng": capture_rng_state(),
        "config": config_to_dict(run.config),
    }


def _save_checkpoint(run: _Run, manager: CheckpointManager, metric: float | None) -> Path | None:
    """The main process writes the checkpoint of the current step (None elsewhere); all wait.
    ``metric`` (lower is better) chooses ``best.pt``: FID when FID during training is on, else the
    Chamfer validation metric."""
    name = "fid" if run.config.fid_every_kimg > 0 else "mmd_cd"
    path = manager.save(_state(run), run.step, metric, name) if run.info.is_main else None
    if run.info.distributed:
        torch.distributed.barrier()
    return path


# ------------------------------------------------------------------------------------------ the run


def _due(every: int, step: int) -> bool:
    return bool(every) and step % every == 0


def _fid(run: _Run, log: RunLog, fid: TrainingFID | None) -> float | None:
    """FID of G_ema now (main process; None elsewhere), recorded in the run log."""
    if fid is None:
        return None
    t0 = time.perf_counter()
    value = fid(run.G_ema, run.ctx)
    log.fid(run.step, value, time.perf_counter() - t0)
    return value


def _train(
    config: TrainConfig,
    run_dir: Path,
    resume: bool | str | Path,
    init_from: str | Path | None,
    stop_after: int | None,
    info: DistInfo,
) -> TrainResult:
    """Set up, then run steps until ``total_kimg``, ``stop_after`` or ``max_minutes``; the main
    process snapshots, validates (Chamfer, FID), logs and checkpoints on the configured schedules
    and at the end. With FID on, every FID step writes a checkpoint and FID chooses ``best.pt``."""
    _setup_backends(config, info.device)
    micro = _micro_batches(config, info)
    manager = _checkpoints(config, run_dir, resume)
    check_fid_weights(config)  # before anything slow: a missing file names fid_inception
    log = RunLog(run_dir, config, enabled=info.is_main)  # writes config.yaml
    dataset, val_refs = _build_data(config, info)
    log.note(split_note(config, dataset))
    fid_on = config.fid_every_kimg > 0
    fid = TrainingFID(config, run_dir, info.device) if fid_on and info.is_main else None
    if fid_on and not info.is_main:
        fid_images_of(config)  # the main process's start-up errors (no val split) on every process
    source = manager.latest() if resume is True else (Path(resume) if resume else None)
    run = _build_run(config, info, micro, source, None if init_from is None else Path(init_from))
    if init_from is not None:
        log.note(f"weights: initialised from {init_from} (G, G_ema, D; fresh optimisers, step 0)")
    start_step, total = run.step, config.total_steps
    end = total if stop_after is None else min(total, run.step + stop_after)
    validate = bool(config.val_every) and val_refs is not None

    t_start = time.perf_counter()
    log.start(run.step, total, run.images)
    if run.step == 0:
        log.snapshot(0, run.G_ema, run.ctx)
    log.trim(run.step)  # drop lines logged after the checkpoint we resume from
    schedule = RealSchedule(len(dataset), config.batch, config.seed)
    batches = real_batches(
        dataset, schedule, run.step, end, micro, config.batch_gpu, config.data.workers, info.device
    )
    if validate and run.step == 0:  # the untrained baseline
        log.validate(0, run.G_ema, val_refs)
    if fid_on and run.step == 0:
        _fid(run, log, fid)
    last_ckpt, time_up = None, False
    while run.step < end and not time_up:
        images_before = run.images
        stats, bad = _train_step(run, next(batches))
        elapsed = time.perf_counter() - t_start
        time_up = config.max_minutes is not None and elapsed / 60 >= config.max_minutes
        last = run.step == end or time_up
        write = _due(max(config.log_every, 1), run.step) or run.step == end
        log.step(run.step, run.images, elapsed, stats, run.counters, bad, write)
        if _due(config.snapshot_every, run.step) or last:
            log.snapshot(run.step, run.G_ema, run.ctx)
        metric = None
        if validate and (_due(config.val_every, run.step) or last):
            metric = log.validate(run.step, run.G_ema, val_refs)
        fid_now = fid_on and (fid_due(config, images_before, run.images) or last)
        if fid_on:  # best.pt by FID only
            metric = _fid(run, log, fid) if fid_now else None
        if _due(config.checkpoint_every, run.step) or last or fid_now:
            last_ckpt = _save_checkpoint(run, manager, metric) or last_ckpt
    log.close()
    finished = run.step >= total and not time_up
    return TrainResult(
        run_dir, start_step, run.step, run.images, last_ckpt, finished, run.counters["nonfinite_steps"]
    )
