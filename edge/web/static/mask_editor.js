// Sky-mask editor of the Skytrail station page: polygons drawn on a camera's latest frame, sent to
// the station (PUT /api/cameras/<id>/mask) which writes masks/<id>.png. Plain JavaScript, no
// libraries, so that the page works without internet. Coordinates are frame pixels.
"use strict";
(function () {
  const canvas = document.getElementById("mask-canvas");
  if (!canvas) return;
  const ctx = canvas.getContext("2d");
  const statusLine = document.getElementById("editor-status");
  const markSelect = document.getElementById("polygons-mark");
  const showSaved = document.getElementById("show-saved");
  const removeButton = document.getElementById("remove");
  const api = canvas.dataset.api;
  const W = canvas.width, H = canvas.height;
  const DRAG_START_PX = 6;     // screen pixels the pointer must move before a press becomes a drag
  const CLOSE_RADIUS_PX = 12;  // screen pixels around the first corner that close a shape
  const LASSO_STEP_PX = 4;     // screen pixels between points recorded while dragging

  let polygons = [];  // closed shapes: arrays of [x, y]
  let current = [];   // the shape being drawn by clicks
  let lasso = null;   // points of the shape being drawn by dragging
  let press = null;   // {x, y, sx, sy} where the pointer went down
  const frame = new Image();
  let savedOverlay = null;  // canvas tinting the ignored part of the saved mask

  function say(text, kind) {
    statusLine.textContent = text;
    statusLine.className = kind || "muted";
  }

  function scale() {  // frame pixels per screen pixel
    const r = canvas.getBoundingClientRect();
    return r.width > 0 ? W / r.width : 1;
  }

  function toFrame(ev) {
    const r = canvas.getBoundingClientRect();
    const k = scale();
    const x = Math.min(W, Math.max(0, (ev.clientX - r.left) * k));
    const y = Math.min(H, Math.max(0, (ev.clientY - r.top) * k));
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }

  function fillColour() {
    return markSelect.value === "ignored" ? "rgba(255, 40, 40, 0.40)" : "rgba(40, 160, 255, 0.35)";
  }

  function path(points, close) {
    ctx.beginPath();
    points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    if (close) ctx.closePath();
  }

  function draw() {
    const k = scale();
    ctx.clearRect(0, 0, W, H);
    if (frame.complete && frame.naturalWidth) ctx.drawImage(frame, 0, 0, W, H);
    if (savedOverlay && showSaved.checked) ctx.drawImage(savedOverlay, 0, 0, W, H);
    ctx.lineWidth = 2 * k;
    for (const poly of polygons) {
      path(poly, true);
      ctx.fillStyle = fillColour();
      ctx.fill();
      ctx.strokeStyle = "#ffdd33";
      ctx.stroke();
    }
    const open = lasso || current;
    if (open.length) {
      path(open, Boolean(lasso));
      ctx.strokeStyle = "#33ff88";
      ctx.stroke();
      ctx.fillStyle = "#33ff88";
      for (const [x, y] of current) ctx.fillRect(x - 3 * k, y - 3 * k, 6 * k, 6 * k);
    }
  }

  function closeCurrent() {
    if (current.length >= 3) {
      polygons.push(current);
      current = [];
      say(`${polygons.length} shape(s) drawn, not saved yet.`);
    } else if (current.length) {
      say("A shape needs at least 3 corners.", "warn");
    }
    draw();
  }

  canvas.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    canvas.setPointerCapture(ev.pointerId);
    const [x, y] = toFrame(ev);
    press = { x, y, sx: ev.clientX, sy: ev.clientY };
    ev.preventDefault();
  });

  canvas.addEventListener("pointermove", (ev) => {
    if (!press) return;
    const moved = Math.hypot(ev.clientX - press.sx, ev.clientY - press.sy);
    if (!lasso && moved >= DRAG_START_PX) lasso = [[press.x, press.y]];
    if (lasso) {
      const p = toFrame(ev), last = lasso[lasso.length - 1];
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) >= LASSO_STEP_PX * scale()) lasso.push(p);
      draw();
    }
  });

  canvas.addEventListener("pointerup", (ev) => {
    if (!press) return;
    if (lasso) {
      lasso.push(toFrame(ev));
      if (lasso.length >= 3) {
        polygons.push(lasso);
        say(`${polygons.length} shape(s) drawn, not saved yet.`);
      }
      lasso = null;
    } else {
      const p = [press.x, press.y];
      const first = current[0];
      if (current.length >= 3 && Math.hypot(p[0] - first[0], p[1] - first[1]) <= CLOSE_RADIUS_PX * scale()) {
        closeCurrent();
      } else {
        current.push(p);
      }
    }
    press = null;
    draw();
  });

  document.addEventListener("keydown", (ev) => {
    // Enter closes the shape being drawn, and must not also press the button that has the focus
    if (ev.key === "Enter" && current.length) { ev.preventDefault(); closeCurrent(); }
    if (ev.key === "Escape") { current = []; lasso = null; draw(); }
  });

  document.getElementById("close-shape").addEventListener("click", closeCurrent);
  document.getElementById("undo").addEventListener("click", () => {
    if (current.length) current.pop(); else polygons.pop();
    draw();
  });
  document.getElementById("clear").addEventListener("click", () => {
    polygons = []; current = []; lasso = null;
    say("Cleared: draw again, then save (saving with no shapes makes the whole frame sky).");
    draw();
  });
  markSelect.addEventListener("change", () => {
    document.getElementById("mark-word").textContent = markSelect.value === "ignored" ? "not sky" : "sky";
    draw();
  });
  showSaved.addEventListener("change", draw);

  function errorText(body, status) {
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail)) {
      return body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
    return `HTTP ${status}`;
  }

  function loadSavedOverlay() {
    const img = new Image();
    img.onload = () => {
      const c = document.createElement("canvas");
      c.width = W; c.height = H;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0, W, H);
      const data = g.getImageData(0, 0, W, H);
      for (let i = 0; i < data.data.length; i += 4) {  // ignored (black) pixels: blue tint; sky: clear
        const ignored = data.data[i] < 128;
        data.data[i] = 0; data.data[i + 1] = 40; data.data[i + 2] = 200;
        data.data[i + 3] = ignored ? 110 : 0;
      }
      g.putImageData(data, 0, 0);
      savedOverlay = c;
      draw();
    };
    img.onerror = () => { savedOverlay = null; draw(); };
    img.src = `${canvas.dataset.mask}?t=${Date.now()}`;
  }

  document.getElementById("save").addEventListener("click", async () => {
    if (current.length >= 3) closeCurrent();
    const body = { width_px: W, height_px: H, polygons_mark: markSelect.value, polygons: polygons };
    say("Saving...");
    try {
      const resp = await fetch(api, {
        method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const answer = await resp.json().catch(() => null);
      if (!resp.ok) { say(`Not saved: ${errorText(answer, resp.status)}`, "problem-text"); return; }
      const pct = answer.sky_fraction === null ? "?" : (100 * answer.sky_fraction).toFixed(1);
      say(`Saved: ${answer.n_polygons} shape(s), ${pct}% of the frame is sky.`, "ok-text");
      removeButton.disabled = false;
      loadSavedOverlay();
    } catch (err) {
      say(`Not saved: ${err}`, "problem-text");
    }
  });

  removeButton.addEventListener("click", async () => {
    const resp = await fetch(api, { method: "DELETE" });
    if (resp.ok) {
      say("Saved mask removed: the whole frame is sky.", "ok-text");
      removeButton.disabled = true;
      savedOverlay = null;
      draw();
    } else {
      say(`Not removed: HTTP ${resp.status}`, "problem-text");
    }
  });

  frame.onload = async () => {
    try {
      const resp = await fetch(api);
      const info = resp.ok ? await resp.json() : null;
      if (info && info.saved && info.saved.width_px === W && info.saved.height_px === H) {
        polygons = info.saved.polygons;
        markSelect.value = info.saved.polygons_mark;
        markSelect.dispatchEvent(new Event("change"));
      }
      if (info && info.exists) loadSavedOverlay();
      say(`Ready: ${polygons.length} saved shape(s).`);
    } catch (err) {
      say(`Could not load the saved mask: ${err}`, "warn");
    }
    draw();
  };
  frame.onerror = () => say("The camera's latest frame could not be loaded.", "problem-text");
  frame.src = `${canvas.dataset.frame}?t=${Date.now()}`;
})();
