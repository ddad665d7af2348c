// A page written against the SDK as an npm package. e2e/sdk-package.test.mjs installs the
// packed @openroom/sdk into a fresh project, type-checks this file with tsc --strict,
// compiles it, and opens index.html?server=URL&room=NAME&user=ID in Chromium.
import { Room, OpenRoomError, type JoinResult, type Member } from '@openroom/sdk';

interface Sample {
  joined: JoinResult | null;
  error: string | null;
  /** The <video> showing each member, by userID. */
  videos: Record<string, HTMLVideoElement>;
  /** Everybody in the room but us: "userID (nickName)". */
  members(): string[];
}

declare global {
  interface Window {
    /** The harness reads media statistics from window.openroom.remoteStats(). */
    openroom: Room;
    sample: Sample;
  }
}

const query = new URLSearchParams(location.search);
const room = new Room({ server: query.get('server') ?? undefined });
const describe = (m: Member): string => `${m.userID} (${m.nickName})`;
const sample: Sample = {
  joined: null,
  error: null,
  videos: {},
  members: () => [...room.members.values()].map(describe),
};
window.openroom = room;
window.sample = sample;

room.on('state', ({ state }) => {
  document.body.dataset.state = state;
});
room.on('track', ({ userID, kind }) => {
  if (kind !== 'video' || sample.videos[userID]) return;
  const video = document.createElement('video');
  video.muted = video.autoplay = video.playsInline = true;
  video.dataset.user = userID;
  document.body.append(video);
  sample.videos[userID] = room.attach(userID, video);
});
room.on('memberleft', ({ userID }) => {
  sample.videos[userID]?.remove();
  delete sample.videos[userID];
});

try {
  sample.joined = await room.join({ room: query.get('room') ?? 'sample', userID: query.get('user') ?? 'guest' });
} catch (err) {
  sample.error = err instanceof OpenRoomError ? `${err.code}: ${err.message}` : String(err);
}
