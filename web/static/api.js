// The nailtrt HTTP API as the page uses it, and errors a person can act on.

export class ApiError extends Error {
  constructor(message, { status = 0, code = '', retryAfter = 0 } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds; > 0 means "try again" makes sense
  }
}

// What to tell a person for each error code the server sends (server/errors.go).
const advice = {
  too_large: 'That photo is too large to upload. Try a smaller one (most phones can share a reduced size).',
  image_too_large: 'That photo has too many pixels for this server. Try a smaller one.',
  unsupported_media_type: 'That file is not a photo this server reads. Use a JPEG, PNG, GIF or WebP image.',
  empty_image: 'That file is empty or not an image.',
  undecodable_image: 'That file looks damaged: it could not be read as an image.',
  not_ready: 'The server is still loading its model.',
  overloaded: 'The server is busy right now.',
  timeout: 'The server is busy right now.',
  shutting_down: 'The server is restarting.',
  model_unavailable: 'The server cannot run its model right now.',
};

async function failure(res) {
  let code = '', message = `HTTP ${res.status}`;
  try {
    const body = await res.json();
    code = body.error?.code ?? '';
    message = body.error?.message ?? message;
  } catch { /* not JSON: keep the status */ }
  const retryAfter = Number(res.headers.get('Retry-After')) || (res.status === 503 ? 2 : 0);
  return new ApiError(advice[code] ?? message, { status: res.status, code, retryAfter });
}

async function call(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError('The server cannot be reached. Is it running?', { retryAfter: 2 });
  }
  if (!res.ok) throw await failure(res);
  return res;
}

// materialFields are the form fields of a polish: a preset by name, or a custom colour
// with its finish. Glossiness goes only once the gloss slider was moved: a finish has
// its own (matte is not shiny), which a glossiness sent with it would replace.
export function materialFields(p) {
  if (p.preset) return { material: p.preset };
  const f = { material: 'custom', custom_color: p.color, finish: p.finish };
  if (p.glossSet) f.glossiness = String(p.gloss);
  return f;
}

function form(photo, fields) {
  const f = new FormData();
  f.append('file', photo, 'photo.jpg');
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

export async function materials() {
  return (await call('/api/materials')).json();
}

// render returns the painted photo and whether the segmentation was a cache hit.
export async function render(photo, polish, signal) {
  const res = await call('/api/nails/render', { method: 'POST', body: form(photo, materialFields(polish)), signal });
  return {
    image: await res.blob(),
    cache: res.headers.get('X-Cache') ?? '',
    nails: Number(res.headers.get('X-Nail-Count') ?? 0),
    message: res.headers.get('X-Nail-Message') ?? '', // set when there are no nails
  };
}

// segment returns the JSON of /api/nails/segment; mask is polygon, rle, png or none;
// model is photo (the accurate model) or live (the cheaper one for camera frames).
export async function segment(photo, mask = 'polygon', signal, model = 'photo') {
  // The raw image as the body: no multipart framing to build or parse.
  const res = await call(`/api/nails/segment?mask=${mask}&model=${model}`, {
    method: 'POST', body: photo, signal, headers: { 'Content-Type': photo.type || 'application/octet-stream' },
  });
  return res.json();
}
