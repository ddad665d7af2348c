// Lobby: pick a room and a name, then go to /r/{room}?user={name}.

const NAME_KEY = 'openroom.name';

/**
 * Keeps [A-Za-z0-9_-] only (spaces become "_"), at most `max` characters.
 * @param {string} s
 * @param {number} max
 */
export function sanitizeID(s, max) {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // drop accents: "José" -> "Jose"
    .trim()
    .replace(/\s+/g, '_')
    .replace(/[^A-Za-z0-9_-]/g, '')
    .slice(0, max);
}

const rand4 = () => String(1000 + Math.floor(Math.random() * 9000));
const randomRoom = () => `room-${rand4()}`;

const form = /** @type {HTMLFormElement} */ (document.getElementById('join-form'));
const roomInput = /** @type {HTMLInputElement} */ (document.getElementById('room-name'));
const userInput = /** @type {HTMLInputElement} */ (document.getElementById('user-name'));
const preview = /** @type {HTMLElement} */ (document.getElementById('user-preview'));
const errorBox = /** @type {HTMLElement} */ (document.getElementById('form-error'));
const shuffle = /** @type {HTMLButtonElement} */ (document.getElementById('shuffle-room'));

const guest = `guest_${rand4()}`;

roomInput.value = randomRoom();
try {
  userInput.value = localStorage.getItem(NAME_KEY) || '';
} catch {
  // storage disabled: fine
}

function updatePreview() {
  preview.textContent = sanitizeID(userInput.value, 32) || guest;
}
updatePreview();
userInput.addEventListener('input', updatePreview);

shuffle.addEventListener('click', () => {
  roomInput.value = randomRoom();
  roomInput.focus();
  errorBox.hidden = true;
});

roomInput.addEventListener('input', () => {
  errorBox.hidden = true;
});

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const room = sanitizeID(roomInput.value, 64);
  if (!room) {
    errorBox.textContent = 'Give the room a name (letters, digits, - and _).';
    errorBox.hidden = false;
    roomInput.focus();
    return;
  }
  const user = sanitizeID(userInput.value, 32) || guest;
  try {
    if (userInput.value.trim()) localStorage.setItem(NAME_KEY, userInput.value.trim());
  } catch {
    // ignore
  }
  location.assign(`/r/${encodeURIComponent(room)}?user=${encodeURIComponent(user)}`);
});

// Focus the name when it is empty, else the join button: one Enter and you are in.
if (!userInput.value) userInput.focus();
else document.getElementById('join-button')?.focus();
