// openroom browser SDK.
//
// One Room object = one member in one room. It speaks the openroom signaling
// protocol (docs/protocol.md) over a WebSocket and uses two RTCPeerConnections:
// `publisher` (we offer our camera/mic, the server answers) and `subscriber`
// (the server offers everyone else's tracks, we answer).
//
//   import { Room } from '/sdk/openroom.js';   // or from '@openroom/sdk'
//   const room = new Room();
//   room.on('track', ({ userID, stream }) => { ... });
//   await room.join({ room: 'demo', userID: 'alice' });
//
// In-room chat rides on the same socket:
//
//   room.on('message', (m) => console.log(m.nickName, m.text));   // history too
//   const sent = await room.sendMessage('hello', { to: 'bob' });  // to: optional
//
// Camera video is published with simulcast (up to 3 layers, see
// simulcastEncodings()); the server pauses layers nobody watches (dynacast).
// Adaptive stream: the SDK watches the <video> elements that show remote video
// (room.attach(), or any element whose srcObject holds a remote track) and tells
// the server their size and visibility, so each one gets the layer it needs:
//
//   room.attach('bob', videoElement);            // srcObject kept up to date
//   room.setPinned('bob');                       // priority for bob's video
//   room.on('speakers', (list) => ...);          // [{userID, level}], loudest first
//   room.on('quality', (list) => ...);           // [{userID, quality}]
//
// No dependencies and no build step: the ES modules beside this file are served
// as they are (from /sdk/ on the server, or from node_modules). Room (room.js)
// wires them; the types are in openroom.d.ts. Works in current Chromium,
// Firefox and Safari.

export { Room, Room as default } from './room.js';
export { OpenRoomError } from './errors.js';
export { layerBitrate, simulcastEncodings } from './simulcast.js';
