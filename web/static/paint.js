// Client-side polish for live mode: the server returns which pixels are nails (a label
// PNG, pixel = nail id); the page paints them itself on every camera frame, so painting
// keeps up with the camera while at most one frame is at the server.
//
// The look follows the server's renderer (nails/paint.go) in spirit: the polish colour
// is modulated by the photo's own luminance relative to the nail's mean, so the finger's
// curvature and shadows stay, and bright spots above the mean become a specular highlight
// scaled by glossiness.

// hexRGB parses #rrggbb.
export function hexRGB(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// labelsFromPNG decodes a base64 label PNG into the indices of nail pixels.
export async function nailPixels(base64, width, height) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }),
    { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(width, height);
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const px = g.getImageData(0, 0, width, height).data;
  let n = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i] > 0) n++;
  const idx = new Uint32Array(n);
  for (let i = 0, j = 0; i < px.length; i += 4) if (px[i] > 0) idx[j++] = i;
  return idx;
}

// paint colours the nail pixels (byte offsets into data) of one RGBA frame in place.
export function paint(data, idx, polish) {
  if (idx.length === 0) return;
  const [pr, pg, pb] = hexRGB(polish.color);
  const gloss = polish.gloss ?? 0.7;
  const opacity = polish.opacity ?? 1;
  let sum = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  }
  const mean = Math.max(sum / idx.length, 1);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    const lum = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    const shade = Math.min(Math.max(lum / mean, 0.45), 1.35);
    const spec = Math.max(0, (lum - mean * 1.15) / 255) * gloss * 3;
    for (let c = 0; c < 3; c++) {
      const polishC = (c === 0 ? pr : c === 1 ? pg : pb) * shade + 255 * spec;
      const out = data[i + c] * (1 - opacity) + polishC * opacity;
      data[i + c] = out > 255 ? 255 : out;
    }
  }
}
