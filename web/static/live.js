// Live mode: webcam frames (640x480 JPEG) to /api/nails/segment?mask=png&model=live (the
// server's live model: a 384 px input, one pass, a third of the photo model's cost), at most one in
// flight (frames captured meanwhile are dropped, never queued); every camera frame is
// painted here from the latest mask, so the preview keeps the camera's frame rate.
import { segment } from './api.js';
import { nailPixels, paint } from './paint.js';

const W = 640, H = 480;

function cameraMessage(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'The camera was refused. Allow camera access for this page in the browser (the camera icon in the address bar), then press Start camera again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found on this device.';
    case 'NotReadableError':
      return 'The camera is in use by another application.';
    default:
      return navigator.mediaDevices ? `The camera could not start (${err?.name ?? err}).`
        : 'This browser gives no camera to this page (a camera needs https or localhost).';
  }
}

export class Live {
  constructor({ canvas, status, polish, onError, clearError }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.status = status;
    this.polish = polish; // function returning the current polish
    this.onError = onError;
    this.clearError = clearError;
    this.grab = new OffscreenCanvas(W, H);
    this.grabCtx = this.grab.getContext('2d');
    this.idx = new Uint32Array(0);
    this.inFlight = false;
    this.done = []; // completion times of the last second's server answers
    this.latencies = [];
    this.painted = [];
  }

  async start() {
    if (this.stream) return;
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: W }, height: { ideal: H }, facingMode: 'user' }, audio: false,
      });
    } catch (err) {
      this.onError(cameraMessage(err));
      return false;
    }
    this.video = document.createElement('video');
    Object.assign(this.video, { muted: true, playsInline: true, srcObject: this.stream });
    await this.video.play();
    this.running = true;
    this.next();
    return true;
  }

  stop() {
    this.running = false;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }

  frame() {
    if (!this.running) return;
    this.ctx.drawImage(this.video, 0, 0, W, H);
    if (!this.inFlight) this.send();
    const img = this.ctx.getImageData(0, 0, W, H);
    paint(img.data, this.idx, this.polish());
    this.ctx.putImageData(img, 0, 0);
    this.painted.push(performance.now());
    this.report();
    this.next();
  }

  // next paints once per camera frame where the browser can say when one arrives
  // (requestVideoFrameCallback), else once per display frame.
  next() {
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(() => this.frame());
    else requestAnimationFrame(() => this.frame());
  }

  async send() {
    this.inFlight = true;
    const t0 = performance.now();
    try {
      this.grabCtx.drawImage(this.canvas, 0, 0);
      const jpeg = await this.grab.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
      const res = await segment(jpeg, 'png', undefined, 'live');
      this.idx = res.mask_png ? await nailPixels(res.mask_png, W, H) : new Uint32Array(0);
      this.nails = res.nails.length;
      this.done.push(performance.now());
      this.latencies.push(performance.now() - t0);
      this.serverMS = res.timings_ms?.total ?? 0;
      if (this.latencies.length > 30) this.latencies.shift();
      if (this.failed) this.clearError();
      this.failed = false;
    } catch (err) {
      this.failed = true;
      this.onError(err.message);
      await new Promise((r) => setTimeout(r, 1000 * (err.retryAfter || 1)));
    } finally {
      this.inFlight = false;
    }
  }

  report() {
    const now = performance.now();
    const recent = (a) => { while (a.length && a[0] < now - 1000) a.shift(); return a.length; };
    const fps = recent(this.done), paintFps = recent(this.painted);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const p50 = sorted.length ? sorted[sorted.length >> 1] : 0;
    const s = this.status;
    s.dataset.fps = fps;
    s.dataset.paintFps = paintFps;
    s.dataset.latency = p50.toFixed(1);
    s.dataset.nails = this.nails ?? 0;
    s.dataset.serverMs = this.serverMS ?? 0;
    s.textContent = `${this.nails ?? 0} nails · ${fps} masks/s · ${p50.toFixed(0)} ms per frame · preview ${paintFps} fps`;
  }
}
