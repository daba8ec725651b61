"""``get3d serve``: request validation, latents against get3d.interpolation's grid, the shapes and
their downloads, the job queue, the CLI's errors, and the page itself in headless Chromium.

The browser test needs Chromium, its driver and selenium (``scripts/setup_browser.sh`` installs
them; ``make test`` runs it); without them it skips and says why. It writes a screenshot to
``$GET3D_SERVE_SCREENSHOT`` when set (else into its tmp_path) and prints the measured latency.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
import trimesh

import dmtet
from get3d.cli import main
from get3d.interpolation import interpolation_grid, steps_t
from get3d.networks import Generator, GeneratorConfig
from get3d.sampling import prepare_generator, sample_latents
from get3d.serve import EmptyShapeError, JobState, ShapeJobs, ShapeMaker, ShapeRequest
from render.backend import make_context

TINY = ["--grid-resolution", "8", "--w-avg-samples", "200", "--texture-size", "64", "--no-progress"]


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    cfg = GeneratorConfig.tiny()
    G = Generator(cfg, grid=dmtet.TetGrid.bcc(8, scale=cfg.dmtet_scale)).eval().requires_grad_(False)
    return prepare_generator(G, w_avg_samples=200)


@pytest.fixture(scope="module")
def maker(G):
    return ShapeMaker(G, make_context("torch", "cpu"), texture_size=64)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    G = Generator(GeneratorConfig.tiny())
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    cfg = {"generator": dataclasses.asdict(G.config)}
    torch.save({"G": G.state_dict(), "G_ema": G.state_dict(), "config": cfg}, path)
    return str(path)


# ------------------------------------------------------------------------------------ requests


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"geo_seed": -1}, "geometry seed A: expected an integer in [0, 2147483647], got -1"),
        ({"tex_seed_b": "abc"}, "texture seed B: expected an integer in [0, 2147483647], got 'abc'"),
        ({"geo_seed": 1.5}, "geometry seed A: expected an integer"),
        ({"geo_seed": True}, "geometry seed A: expected an integer"),
        ({"psi": 1.5}, "psi: expected a number in [0, 1], got 1.5"),
        ({"psi": "nan"}, "psi: expected a number in [0, 1], got 'nan'"),
        ({"geo_mix": ""}, "geometry mix: expected a number in [0, 1], got ''"),
        ({"tex_mix": -0.1}, "texture mix: expected a number in [0, 1], got -0.1"),
        ({"seed": 1}, "request: unknown fields ['seed']"),
        ([1, 2], "request: expected a JSON object, got list"),
    ],
)
def test_request_rejects_bad_values_by_name(data, message):
    with pytest.raises(ValueError) as err:
        ShapeRequest.from_mapping(data)
    assert message in str(err.value)


def test_request_parses_form_strings():
    req = ShapeRequest.from_mapping({"geo_seed": " 12 ", "tex_mix": "0.25", "psi": "1"})
    assert (req.geo_seed, req.tex_mix, req.psi, req.tex_seed) == (12, 0.25, 1.0, 1)
    assert ShapeRequest.from_mapping(req.to_dict()) == req
    assert req.file_stem() == "get3d_g12-2x0.00_t1-3x0.25_psi1.00"


def test_latents_are_cells_of_the_interpolation_grid(G, maker):
    steps = 3
    a, b = sample_latents(G, 1, geo_seed=4, tex_seed=5), sample_latents(G, 1, geo_seed=6, tex_seed=7)
    grid = interpolation_grid(G, (a.z_geo, b.z_geo), (a.z_tex, b.z_tex), steps, psi=0.7)
    t = steps_t(steps).tolist()
    for i, j in [(0, 0), (1, 2), (2, 1), (2, 2)]:
        req = ShapeRequest(geo_seed=4, tex_seed=5, geo_seed_b=6, tex_seed_b=7, geo_mix=t[i], tex_mix=t[j])
        ws = maker.latents(req)
        assert ws.geo.shape == (1, *grid.geo.shape[1:]) and ws.tex.shape == (1, *grid.tex.shape[1:])
        torch.testing.assert_close(ws.geo[0], grid.geo[i * steps + j], rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(ws.tex[0], grid.tex[i * steps + j], rtol=1e-6, atol=1e-6)
    # no mix: exactly the sample of `get3d export --geo-seed 4 --tex-seed 5`, for any psi
    ws = maker.latents(ShapeRequest(geo_seed=4, tex_seed=5, psi=0.4))
    ref = sample_latents(G, 1, geo_seed=4, tex_seed=5, psi=0.4).ws
    assert torch.equal(ws.geo, ref.geo) and torch.equal(ws.tex, ref.tex)


# ------------------------------------------------------------------------------------ shapes


def _first_nonempty(maker, seeds=range(8)):
    for seed in seeds:
        try:
            return maker.make(ShapeRequest(geo_seed=seed))
        except EmptyShapeError:
            continue
    pytest.fail("no seed in 0..7 gives the tiny generator a surface")


def test_shape_glb_and_obj_zip_are_the_mesh_shown(maker, tmp_path):
    stages = []
    shape = _first_nonempty(maker)
    shape = maker.make(shape.request, lambda stage, fraction: stages.append((stage, fraction)))
    assert [f for _, f in stages] == sorted(f for _, f in stages) and stages[-1] == ("done", 1.0)
    (tmp_path / "a.glb").write_bytes(shape.glb)
    scene = trimesh.load(tmp_path / "a.glb")
    (mesh,) = scene.geometry.values()
    assert len(mesh.faces) == shape.mesh.num_faces == shape.summary()["faces"] > 0
    with zipfile.ZipFile(io.BytesIO(maker.obj_zip(shape))) as archive:
        stem = shape.request.file_stem()
        assert sorted(archive.namelist()) == sorted(f"{stem}.{ext}" for ext in ("obj", "mtl", "png"))
        archive.extractall(tmp_path)
    obj = trimesh.load(tmp_path / f"{stem}.obj", process=False)
    assert len(obj.faces) == shape.mesh.num_faces
    torch.testing.assert_close(
        torch.tensor(obj.bounds, dtype=torch.float32), torch.tensor(mesh.bounds, dtype=torch.float32)
    )


def test_empty_surface_is_a_clear_error(maker, monkeypatch):
    empty_mesh = type("M", (), {"faces": torch.zeros(0, 3, dtype=torch.long)})()
    monkeypatch.setattr(maker.G, "meshes", lambda geometry: [empty_mesh])
    with pytest.raises(EmptyShapeError, match="empty surface .* try another geometry seed"):
        maker.make(ShapeRequest())


def test_jobs_progress_cache_and_errors(maker, monkeypatch):
    jobs = ShapeJobs(maker, keep=2)
    try:
        req = _first_nonempty(maker).request
        first = jobs.wait(jobs.submit(req), timeout=60)
        assert first.state is JobState.DONE and first.fraction == 1.0 and first.shape["faces"] > 0
        assert jobs.shape(first.shape["id"]).glb[:4] == b"glTF"
        again = jobs.status(jobs.submit(req))  # kept: done at once, same shape
        assert again.state is JobState.DONE and again.shape["id"] == first.shape["id"]
        assert jobs.status(12345) is None and jobs.shape(12345) is None

        def broken(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(maker.G, "triplanes", broken)
        failed = jobs.wait(jobs.submit(ShapeRequest(geo_seed=999)), timeout=60)
        assert failed.state is JobState.ERROR
        assert failed.error == "generation failed (RuntimeError: boom)" and "Traceback" not in failed.error
    finally:
        jobs.close()


# ------------------------------------------------------------------------------------ CLI


def test_cli_rejects_a_non_checkpoint_file(tmp_path, capsys):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    bad = tmp_path / "notes.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", str(bad), "--port", "0", *TINY])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "checkpoint: " in err and "is not a readable weights-only torch checkpoint" in err
    assert "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["serve", str(tmp_path / "missing.pt"), *TINY])
    assert "checkpoint: no file at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", str(bad), "--psi", "2", *TINY])
    assert "--psi: expected a number in [0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", str(bad), "--port", "70000", *TINY])
    assert "--port: expected a TCP port in [0, 65535], got 70000" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ browser


@pytest.fixture
def browser_paths() -> tuple[str, str]:
    """(Chromium, chromedriver), or a skip that says how to install them."""
    browser = next((p for n in ("chromium", "chromium-browser") if (p := shutil.which(n))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip(
            "headless browser test: Chromium and chromedriver are not installed "
            "(run scripts/setup_browser.sh, as `make test` does)"
        )
    return browser, driver


@pytest.fixture
def server(ckpt):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    cmd = [sys.executable, "-m", "get3d", "serve", ckpt, "--port", "0", *TINY]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("get3d serve: http://127.0.0.1:"), line + proc.stdout.read()
        yield line.split()[2]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait(driver, predicate, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate(driver)
        if value:
            return value
        time.sleep(0.05)
    error = driver.find_element("id", "error").text
    pytest.fail(f"timed out after {timeout} s waiting for {what} (page error box: {error!r})")


@pytest.mark.slow
def test_page_in_headless_chromium(browser_paths, server, tmp_path):
    browser, driver_path = browser_paths
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="the browser test drives Chromium with selenium"
    )
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.keys import Keys

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1000,900",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--disable-gpu-sandbox",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.get(server)
        view = driver.find_element("id", "view")
        state = lambda d: view.get_attribute("data-state")  # noqa: E731
        _wait(driver, lambda d: state(d) == "ready", 60, "the first shape")
        first_id = view.get_attribute("data-shape-id")

        # change the geometry seed: the view must show a new shape, and say how many triangles
        seed = driver.find_element("id", "geo_seed")
        seed.send_keys(Keys.CONTROL, "a")
        seed.send_keys("5", Keys.TAB)
        start = time.perf_counter()
        _wait(
            driver,
            lambda d: state(d) == "ready" and view.get_attribute("data-shape-id") not in ("", first_id),
            60,
            "the view to update after the seed change",
        )
        latency = time.perf_counter() - start
        faces = int(view.get_attribute("data-faces"))
        assert faces > 0
        page_latency_ms = int(view.get_attribute("data-latency-ms"))
        print(f"\nseed change -> updated view: {latency:.2f} s (page's own clock: {page_latency_ms} ms)")
        assert len(driver.find_elements("css selector", "#gallery img")) == 2

        screenshot = Path(os.environ.get("GET3D_SERVE_SCREENSHOT", tmp_path / "serve.png"))
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(screenshot))

        # the GLB download is the mesh shown
        driver.find_element("id", "download-glb").click()
        glb = _wait(driver, lambda d: sorted(downloads.glob("*.glb")), 30, "the GLB download")[0]
        assert glb.name.startswith("get3d_g5-")
        (mesh,) = trimesh.load(glb).geometry.values()
        assert len(mesh.faces) == faces

        # out-of-range input: a clear message on the page, never a traceback
        psi = driver.find_element("id", "psi")
        psi.send_keys(Keys.CONTROL, "a")
        psi.send_keys("7", Keys.TAB)
        message = _wait(driver, lambda d: d.find_element("id", "error").text, 20, "the error message")
        assert message == "psi: expected a number in [0, 1], got '7'"
        assert "Traceback" not in driver.page_source
        assert view.get_attribute("data-state") == "ready"  # the last good shape stays
    finally:
        driver.quit()
