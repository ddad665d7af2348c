// Lobby: pick a room and a name (any script), then go to /r/{room ID}?user={name}.

import { cleanName, idFor } from './names.js';

const NAME_KEY = 'openroom.name';

const rand4 = () => String(1000 + Math.floor(Math.random() * 9000));
const randomRoom = () => `room-${rand4()}`;

const form = /** @type {HTMLFormElement} */ (document.getElementById('join-form'));
const roomInput = /** @type {HTMLInputElement} */ (document.getElementById('room-name'));
const roomLink = /** @type {HTMLElement} */ (document.getElementById('room-link'));
const userInput = /** @type {HTMLInputElement} */ (document.getElementById('user-name'));
const preview = /** @type {HTMLElement} */ (document.getElementById('user-preview'));
const errorBox = /** @type {HTMLElement} */ (document.getElementById('form-error'));
const shuffle = /** @type {HTMLButtonElement} */ (document.getElementById('shuffle-room'));

const guest = `guest_${rand4()}`;

// ?room= comes from the page for a bad room link: the name asked for, to get a valid link.
roomInput.value = cleanName(new URLSearchParams(location.search).get('room') || '') || randomRoom();
try {
  userInput.value = localStorage.getItem(NAME_KEY) || '';
} catch {
  // storage disabled: fine
}

/** The room ID for what is typed: itself when it is one, else derived ("数学课" -> "room-…"). */
const roomID = () => {
  const name = cleanName(roomInput.value);
  return name ? idFor(name, 'room') : '';
};

function updatePreview() {
  preview.textContent = cleanName(userInput.value) || guest;
  const id = roomID();
  roomLink.textContent = id ? `${location.origin}/r/${id}` : '';
}
updatePreview();
userInput.addEventListener('input', updatePreview);

shuffle.addEventListener('click', () => {
  roomInput.value = randomRoom();
  roomInput.focus();
  errorBox.hidden = true;
  updatePreview();
});

roomInput.addEventListener('input', () => {
  errorBox.hidden = true;
  updatePreview();
});

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const room = roomID();
  if (!room) {
    errorBox.textContent = 'Give the room a name.';
    errorBox.hidden = false;
    roomInput.focus();
    return;
  }
  const user = cleanName(userInput.value) || guest;
  try {
    if (cleanName(userInput.value)) localStorage.setItem(NAME_KEY, cleanName(userInput.value));
  } catch {
    // ignore
  }
  location.assign(`/r/${encodeURIComponent(room)}?user=${encodeURIComponent(user)}`);
});

// Focus the name when it is empty, else the join button: one Enter and you are in.
if (!userInput.value) userInput.focus();
else document.getElementById('join-button')?.focus();
