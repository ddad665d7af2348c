// Names people type (any script) and the IDs the server takes ([A-Za-z0-9_-]{1,64}).
// A display name is kept exactly; an ID is derived from it only when it is not one already.

export const MAX_NAME = 64;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
// What the server refuses in a name: control characters, line breaks, bidi overrides and isolates.
// eslint-disable-next-line no-control-regex
const REFUSED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** @param {string} s */
export const isID = (s) => ID_RE.test(s);

/**
 * A display name as the server will take it: trimmed, without the characters it refuses,
 * at most 64 characters (code points, so an emoji is not cut in half).
 * @param {string} s
 */
export function cleanName(s) {
  return Array.from(s.replace(REFUSED, ' ').trim().replace(/\s+/g, ' '))
    .slice(0, MAX_NAME)
    .join('')
    .trim();
}

/** FNV-1a of the UTF-8 bytes, in base 36: short, stable, the same in every browser. @param {string} s */
function hash36(s) {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0');
}

/**
 * The ID for a name: the name itself when it is one ("alice"), else its Latin letters and
 * digits (accents dropped, spaces as "_") and a hash of the whole name, so that "李雷" and
 * "李雷雷" differ and the same name always gives the same ID ("Ada Lovelace" ->
 * "Ada_Lovelace-0k3x9z1", "李雷" -> "user-1b2c3d4").
 * @param {string} name
 * @param {string} [fallback] the prefix when the name has no Latin letters or digits
 */
export function idFor(name, fallback = 'user') {
  const n = name.normalize('NFC');
  if (isID(n)) return n;
  const ascii = n
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .trim()
    .replace(/\s+/g, '_')
    .replace(/[^A-Za-z0-9_-]/g, '')
    .replace(/^[_-]+|[_-]+$/g, '')
    .slice(0, 48);
  return `${ascii || fallback}-${hash36(n)}`;
}
