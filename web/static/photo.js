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

  load(file) {
    this.photo = file;
    this.segmentation = null;
    $('before').src = URL.createObjectURL(file);
    $('compare').hidden = false;
    return this.paint();
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
      const after = $('after');
      URL.revokeObjectURL(after.src);
      after.src = URL.createObjectURL(r.image);
      await after.decode();
      $('download').href = after.src;
      const ms = Math.round(performance.now() - t0);
      status.dataset.cache = r.cache;
      status.dataset.nails = r.nails;
      status.dataset.count = Number(status.dataset.count ?? 0) + 1;
      status.textContent = `${r.nails} ${r.nails === 1 ? 'nail' : 'nails'} · ${ms} ms · ` +
        (r.cache === 'hit' ? 'cache hit: the nails were not searched again' : 'nails found (cache miss)');
      this.clearError();
      if ($('show-outlines').checked) this.outlines();
    } catch (err) {
      if (err.name === 'AbortError') return;
      status.textContent = '';
      this.onError(err.message, err.retryAfter, () => this.paint());
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
