// The page for a bad room link (/r/...): says what a room link looks like and offers the
// lobby with the asked-for name filled in, where it gets a valid ID.
const m = location.pathname.match(/^\/r\/(.+)$/);
if (m) {
  let name = m[1].replace(/\/+$/, '');
  try {
    name = decodeURIComponent(name);
  } catch {
    // keep it as it came
  }
  name = name.trim().slice(0, 64);
  if (name) {
    /** @type {HTMLElement} */ (document.getElementById('nf-name')).textContent = name;
    /** @type {HTMLElement} */ (document.getElementById('nf-asked')).hidden = false;
    /** @type {HTMLAnchorElement} */ (document.getElementById('nf-lobby')).href = `/?room=${encodeURIComponent(name)}`;
  }
}
