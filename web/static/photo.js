// Photo mode: one photo in (file input, drop or paste), painted by the server's renderer.
// The photo is uploaded again with each polish change, but never inferred again: the
// server's cache keys on the bytes, and the status line shows the hit.
import { render, segment } from './api.js';

const $ = (id) => document.getElementById(id);

export class PhotoMode {
  constructor({ polish, onError, clearError }) {
    this.polish = polish;
    this.onError = onError;
    this.clearError = clearError;
    this.photo = null;
    this.controller = null;
    const drop = $('drop');
    $('file').addEventListener('change', (e) => e.target.files[0] && this.load(e.target.files[0]));
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      const f = [...e.dataTransfer.files].find((x) => x.type.startsWith('image/')) ?? e.dataTransfer.files[0];
      if (f) this.load(f);
    });
    document.addEventListener('paste', (e) => {
      const item = [...(e.clipboardData?.items ?? [])].find((x) => x.type.startsWith('image/'));
      if (item) this.load(item.getAsFile());
    });
    $('split').addEventListener('input', (e) => $('stage').style.setProperty('--split', `${e.target.value}%`));
    $('show-outlines').addEventListener('change', () => this.outlines());
  }

  // load takes a new photo. The comparison shows once the server has painted it: a file
  // it cannot read never shows as a broken image with a slider.
  load(file) {
    this.photo = file;
    this.shown = null; // the file the before image shows
    this.segmentation = null;
    return this.paint();
  }

  // forget drops a photo the server cannot read: nothing to compare, nothing to retry.
  forget() {
    this.photo = null;
    this.shown = null;
    $('compare').hidden = true;
    for (const id of ['before', 'after']) {
      URL.revokeObjectURL($(id).src);
      $(id).removeAttribute('src');
    }
  }

  // paint asks for the current polish; a newer request cancels an older one.
  async paint() {
    if (!this.photo) return;
    this.controller?.abort();
    const controller = (this.controller = new AbortController());
    const status = $('photo-status');
    status.textContent = 'painting…';
    const t0 = performance.now();
    try {
      const r = await render(this.photo, this.polish(), controller.signal);
      const before = $('before'), after = $('after');
      if (this.shown !== this.photo) {
        URL.revokeObjectURL(before.src);
        before.src = URL.createObjectURL(this.photo);
        this.shown = this.photo;
      }
      URL.revokeObjectURL(after.src);
      after.src = URL.createObjectURL(r.image);
      await after.decode();
      $('download').href = after.src;
      $('compare').hidden = false;
      // With no nails the photo comes back unpainted: no before/after to compare, no
      // outlines, nothing to download; the status says what photo works instead.
      const none = r.nails === 0;
      for (const id of ['split', 'outlines-toggle', 'download']) $(id).hidden = none;
      if (none) $('outlines').hidden = true;
      const ms = Math.round(performance.now() - t0);
      status.dataset.cache = r.cache;
      status.dataset.nails = r.nails;
      status.dataset.count = Number(status.dataset.count ?? 0) + 1;
      status.classList.toggle('hint', none);
      status.textContent = none
        ? 'No nails found in this photo. Try a closer photo of one hand: fingers spread, nails in view and in focus, in good light.'
        : `${r.nails} ${r.nails === 1 ? 'nail' : 'nails'} · ${ms} ms · ` +
          (r.cache === 'hit' ? 'cache hit: the nails were not searched again' : 'nails found (cache miss)');
      this.clearError();
      if (!none && $('show-outlines').checked) this.outlines();
    } catch (err) {
      if (err.name === 'AbortError') return;
      status.textContent = '';
      // Busy or unreachable servers are worth another try (retryAfter); a file the
      // server cannot read is not: show the message alone.
      const retry = err.retryAfter > 0 ? () => this.paint() : null;
      if (!retry) this.forget();
      this.onError(err.message, err.retryAfter, retry);
    }
  }

  // outlines draws every nail's polygon and score over the photo.
  async outlines() {
    const canvas = $('outlines');
    canvas.hidden = !$('show-outlines').checked;
    if (canvas.hidden || !this.photo) return;
    try {
      this.segmentation ??= await segment(this.photo, 'polygon');
    } catch (err) {
      this.onError(err.message, err.retryAfter, () => this.outlines());
      return;
    }
    const s = this.segmentation;
    canvas.width = s.width;
    canvas.height = s.height;
    const g = canvas.getContext('2d');
    const px = Math.max(2, s.width / 400);
    g.lineWidth = px;
    g.font = `${Math.round(7 * px)}px system-ui, sans-serif`;
    for (const n of s.nails) {
      g.strokeStyle = '#00e5ff';
      g.beginPath();
      for (let i = 0; i < n.polygon.length; i += 2) g.lineTo(n.polygon[i], n.polygon[i + 1]);
      g.closePath();
      g.stroke();
      const label = n.score.toFixed(2);
      g.fillStyle = 'rgba(0,0,0,.65)';
      g.fillRect(n.box[0], n.box[1] - 9 * px, g.measureText(label).width + 2 * px, 9 * px);
      g.fillStyle = '#fff';
      g.fillText(label, n.box[0] + px, n.box[1] - 2 * px);
    }
  }
}
