"use strict";
// The page's logic: the form posts a ShapeRequest, the job's progress is polled, and the finished
// shape's GLB (the file offered for download) is fetched and shown. The canvas carries what a
// script (or a test) needs: data-state (empty, loading, ready, error), data-shape-id, data-faces
// (triangles drawn) and data-latency-ms (from the change to the updated view).
(function () {
  const FIELDS = ["geo_seed", "geo_seed_b", "geo_mix", "tex_seed", "tex_seed_b", "tex_mix", "psi"];
  const GALLERY_SIZE = 8;
  const $ = (id) => document.getElementById(id);
  const canvas = $("view");
  let viewer = null, currentJob = 0, changedAt = 0;
  const gallery = [];

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setProgress(fraction, text) {
    $("progress").value = fraction;
    $("stage").textContent = text;
  }

  function formValues() {
    const values = {};
    for (const name of FIELDS) values[name] = $(name).value;
    return values;
  }

  function setForm(request) {
    for (const name of FIELDS) $(name).value = request[name];
    $("geo_mix_value").textContent = Number(request.geo_mix).toFixed(2);
    $("tex_mix_value").textContent = Number(request.tex_mix).toFixed(2);
  }

  async function errorText(response) {
    try { return (await response.json()).error || response.statusText; } catch (e) { return response.statusText; }
  }

  async function submit() {
    changedAt = performance.now();
    let response;
    try {
      response = await fetch("/api/shapes", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(formValues()) });
    } catch (e) {
      showError("the server cannot be reached (" + e.message + ")");
      return;
    }
    if (!response.ok) {
      showError(await errorText(response));
      return;
    }
    showError("");
    const job = (await response.json()).job;
    currentJob = job;
    canvas.dataset.state = "loading";
    poll(job);
  }

  async function poll(job) {
    while (job === currentJob) {
      let status;
      try {
        const response = await fetch("/api/jobs/" + job);
        if (!response.ok) { showError(await errorText(response)); canvas.dataset.state = "error"; return; }
        status = await response.json();
      } catch (e) {
        showError("the server cannot be reached (" + e.message + ")"); canvas.dataset.state = "error"; return;
      }
      if (job !== currentJob) return;
      setProgress(status.fraction, status.stage + " (" + status.elapsed.toFixed(1) + " s)");
      if (status.state === "done") { await display(job, status.shape); return; }
      if (status.state === "error" || status.state === "cancelled") {
        showError(status.error || "the request was " + status.state);
        canvas.dataset.state = "error";
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function display(job, shape) {
    const url = "/api/shapes/" + shape.id + ".glb";
    setProgress(0.95, "loading the mesh into the view");
    const response = await fetch(url);
    if (!response.ok) { showError(await errorText(response)); canvas.dataset.state = "error"; return; }
    const buffer = await response.arrayBuffer();
    if (job !== currentJob) return;
    let faces;
    try {
      faces = await viewer.show(buffer);
    } catch (e) {
      showError("the mesh cannot be shown: " + e.message); canvas.dataset.state = "error"; return;
    }
    const latency = performance.now() - changedAt;
    const glb = $("download-glb"), obj = $("download-obj");
    glb.href = url; glb.setAttribute("download", shape.name + ".glb");
    obj.href = "/api/shapes/" + shape.id + ".zip"; obj.setAttribute("download", shape.name + ".obj.zip");
    glb.classList.remove("disabled"); obj.classList.remove("disabled");
    $("details").textContent = faces + " triangles, " + shape.vertices + " vertices, texture " + shape.texture_size +
      " px; generated in " + shape.seconds.toFixed(2) + " s, shown " + (latency / 1000).toFixed(2) + " s after the change";
    setProgress(1, "ready");
    canvas.dataset.faces = String(faces);
    canvas.dataset.shapeId = String(shape.id);
    canvas.dataset.latencyMs = latency.toFixed(0);
    canvas.dataset.state = "ready";
    addToGallery(shape);
  }

  function addToGallery(shape) {
    const key = JSON.stringify(shape.request);
    const known = gallery.findIndex((item) => item.key === key);
    if (known >= 0) gallery.splice(known, 1);
    gallery.unshift({ key, request: shape.request, name: shape.name, thumb: viewer.thumbnail(96) });
    gallery.length = Math.min(gallery.length, GALLERY_SIZE);
    const box = $("gallery");
    box.replaceChildren();
    for (const item of gallery) {
      const button = document.createElement("button");
      button.type = "button";
      button.title = item.name;
      const img = document.createElement("img");
      img.src = item.thumb; img.alt = item.name;
      const r = item.request;
      const caption = document.createElement("span");
      caption.textContent = "g" + r.geo_seed + " t" + r.tex_seed + (r.geo_mix || r.tex_mix ? " mix" : "") + " \u03c8" + r.psi;
      button.append(img, caption);
      button.addEventListener("click", () => { setForm(item.request); submit(); });
      box.append(button);
    }
  }

  async function start() {
    try {
      viewer = new MeshViewer(canvas);
    } catch (e) {
      showError(e.message); canvas.dataset.state = "error"; return;
    }
    const config = await (await fetch("/api/config")).json();
    $("info").textContent = Object.entries(config.info).map(([k, v]) => k + ": " + v).join(" \u00b7 ");
    for (const name of ["geo_seed", "geo_seed_b", "tex_seed", "tex_seed_b"]) $(name).max = config.max_seed;
    setForm(config.defaults);
    for (const name of FIELDS) $(name).addEventListener("change", submit);
    for (const name of ["geo_mix", "tex_mix"]) {
      $(name).addEventListener("input", () => { $(name + "_value").textContent = Number($(name).value).toFixed(2); });
    }
    $("controls").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
    submit();
  }

  start();
})();
