"""Latency of ``get3d serve``: from a seed change on the page to the updated 3D view.

Writes a random-weight checkpoint of the chosen size, starts ``get3d serve`` on a free loopback
port with ``--threads`` torch threads, drives the page in headless Chromium (selenium and the
system's chromium + chromedriver, see scripts/setup_browser.sh), changes the geometry seed
``--repeats`` times and prints the median and each latency (the page's own clock: change event ->
first frame of the new mesh drawn). Run:

    PYTHONPATH=. .venv/bin/python benchmarks/bench_serve.py --config tiny
    PYTHONPATH=. .venv/bin/python benchmarks/bench_serve.py --config official --repeats 2
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from get3d.networks import Generator, GeneratorConfig


def _checkpoint(config: str, path: Path) -> None:
    torch.manual_seed(0)
    cfg = GeneratorConfig.tiny() if config == "tiny" else GeneratorConfig.official()
    G = Generator(cfg)
    state = G.state_dict()
    torch.save({"G_ema": state, "config": {"generator": dataclasses.asdict(cfg)}}, path)


def _wait(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=["tiny", "official"], default="tiny")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the server (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="seed changes to time (default 5)")
    parser.add_argument("--texture-size", type=int, default=512, help="the server's texture side")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for one update")
    parser.add_argument("--screenshot", help="save a screenshot of the page here at the end")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.keys import Keys

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not browser or not driver_path:
        sys.exit("needs chromium and chromedriver: bash scripts/setup_browser.sh")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / f"{args.config}.pt"
        start = time.perf_counter()
        _checkpoint(args.config, ckpt)
        print(f"random {args.config} checkpoint: {ckpt.stat().st_size / 2**20:.0f} MiB")
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
        cmd = [sys.executable, "-m", "get3d", "serve", str(ckpt), "--port", "0", "--no-progress"]
        cmd += ["--texture-size", str(args.texture_size)]
        server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,900",
                     "--use-angle=swiftshader", "--enable-unsafe-swiftshader"):  # fmt: skip
            options.add_argument(flag)
        driver = None
        try:
            line = server.stdout.readline()
            if not line.startswith("get3d serve: http"):
                raise RuntimeError(line + server.stdout.read())
            print(f"server up after {time.perf_counter() - start:.1f} s (checkpoint, load, w_avg)")
            driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
            driver.get(line.split()[2])
            view = driver.find_element("id", "view")
            _wait(lambda: view.get_attribute("data-state") == "ready", args.timeout, "the first shape")
            latencies = []
            for k in range(args.repeats):
                previous = view.get_attribute("data-shape-id")
                seed = driver.find_element("id", "geo_seed")
                seed.send_keys(Keys.CONTROL, "a")
                seed.send_keys(str(100 + k), Keys.TAB)
                _wait(
                    lambda p=previous: (
                        view.get_attribute("data-state") == "ready"
                        and view.get_attribute("data-shape-id") != p
                    ),
                    args.timeout,
                    "the updated view",
                )
                latencies.append(int(view.get_attribute("data-latency-ms")) / 1000)
                print(f"seed {100 + k}: {latencies[-1]:.2f} s, {view.get_attribute('data-faces')} triangles")
            print(
                f"{args.config}, {args.threads} threads, texture {args.texture_size}: seed change -> updated "
                f"view, median {statistics.median(latencies):.2f} s over {len(latencies)}"
            )
            if args.screenshot:
                driver.save_screenshot(args.screenshot)
        finally:
            if driver is not None:
                driver.quit()
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
