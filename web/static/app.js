// Wiring: the polish controls, the two modes and the error banner.
import { materials } from './api.js';
import { PhotoMode } from './photo.js';
import { Live } from './live.js';

const $ = (id) => document.getElementById(id);

// The current polish: a preset (by name) until a knob is touched, then a custom colour.
const polish = { preset: 'glossy_red', color: '#c8102e', finish: 'glossy', gloss: 0.7, glossSet: false, opacity: 1 };

let retryTimer = null;
function showError(message, retryAfter = 0, retry = null) {
  clearTimeout(retryTimer);
  $('error-text').textContent = message + (retry && retryAfter ? ` Trying again in ${retryAfter} s.` : '');
  $('error').hidden = false;
  const button = $('retry');
  button.hidden = !retry;
  button.onclick = () => { clearError(); retry(); };
  if (retry && retryAfter) retryTimer = setTimeout(button.onclick, retryAfter * 1000);
}
function clearError() {
  clearTimeout(retryTimer);
  $('error').hidden = true;
}

const photo = new PhotoMode({ polish: () => polish, onError: showError, clearError });
const live = new Live({ canvas: $('live'), status: $('live-status'), polish: () => polish, onError: showError, clearError });

function repaint() {
  if (!$('photo-mode').hidden) photo.paint();
}

function selectSwatch(button) {
  for (const b of document.querySelectorAll('.swatch')) b.setAttribute('aria-checked', String(b === button));
}

async function loadMaterials() {
  let m;
  try {
    m = await materials();
  } catch (err) {
    showError(err.message, err.retryAfter, loadMaterials);
    return;
  }
  clearError();
  const finish = $('finish');
  finish.replaceChildren(...m.finishes.map((f) => new Option(f, f, false, f === polish.finish)));
  const box = $('swatches');
  box.replaceChildren(...m.materials.map((mat) => {
    const b = document.createElement('button');
    b.className = 'swatch';
    b.style.background = mat.finish === 'french' ? `linear-gradient(${mat.color} 60%, ${mat.tip_color} 60%)` : mat.color;
    b.title = b.ariaLabel = mat.name.replaceAll('_', ' ');
    b.dataset.material = mat.name;
    b.setAttribute('role', 'radio');
    b.setAttribute('aria-checked', String(mat.name === polish.preset));
    b.addEventListener('click', () => {
      Object.assign(polish, { preset: mat.name, color: mat.color, finish: mat.finish, opacity: mat.opacity, glossSet: false });
      $('color').value = mat.color;
      finish.value = mat.finish;
      selectSwatch(b);
      repaint();
    });
    return b;
  }));
}

// Any knob turns the polish into a custom one; repaint once the knob settles.
let knobTimer = null;
function knob(update) {
  return (e) => {
    update(e.target.value);
    Object.assign(polish, { preset: null, opacity: 1 });
    selectSwatch(null);
    clearTimeout(knobTimer);
    knobTimer = setTimeout(repaint, e.type === 'input' ? 250 : 0);
  };
}
$('color').addEventListener('change', knob((v) => { polish.color = v; }));
$('color').addEventListener('input', knob((v) => { polish.color = v; }));
$('finish').addEventListener('change', knob((v) => { polish.finish = v; }));
$('gloss').addEventListener('change', knob((v) => { polish.gloss = Number(v); polish.glossSet = true; }));

function mode(name) {
  const isLive = name === 'live';
  $('tab-photo').setAttribute('aria-selected', String(!isLive));
  $('tab-live').setAttribute('aria-selected', String(isLive));
  $('photo-mode').hidden = isLive;
  $('live-mode').hidden = !isLive;
  if (!isLive) live.stop();
  clearError();
}
$('tab-photo').addEventListener('click', () => mode('photo'));
$('tab-live').addEventListener('click', () => mode('live'));
$('camera').addEventListener('click', async () => {
  clearError();
  if (await live.start()) $('camera').hidden = true;
});

// For the console and the browser tests.
window.nailtrt = { polish, photo, live };

loadMaterials();
