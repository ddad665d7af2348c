// Calls the SDK's types forbid: tsc --strict must report an error on each line marked
// "expect error" (and nowhere else), which shows the package's types are real.
import { Room } from '@openroom/sdk';

const room = new Room({ server: 'http://localhost:8080' });
void room.join(42); // expect error: join takes JoinOptions
void room.join({ userID: 'alice' }); // expect error: room is required
room.on('track', ({ trackName }) => trackName); // expect error: no such field in the event
room.setPinned(7); // expect error: a userID or null
const state: 'open' | 'closed' = room.state; // expect error: RoomState has other values
void state;
