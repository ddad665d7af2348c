// Type declarations for the openroom browser SDK (/sdk/openroom.js).

export type RoomState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface RoomOptions {
  /** Base URL of the openroom server, e.g. "http://host:8080". Default: the origin the SDK was loaded from. */
  server?: string;
}

export interface JoinOptions {
  /** Room number or name ([A-Za-z0-9_-]{1,64}). */
  room: string | number;
  /** Required unless userSig is given. */
  userID?: string;
  nickName?: string;
  /** Token naming the user. When absent it is fetched from POST /weapp/webrtc_room/get_login_info. */
  userSig?: string;
  /** Room token; required when the server runs with open_login off. */
  privateMapKey?: string;
  /** Publish the microphone. Default true. */
  audio?: boolean;
  /** Publish the camera. Default true. */
  video?: boolean;
  audioDeviceId?: string;
  videoDeviceId?: string;
  /** Overrides the ICE servers the server suggests. */
  iceServers?: RTCIceServer[];
  /** Milliseconds to wait for the server's `joined`. Default 15000. */
  timeout?: number;
}

export interface JoinResult {
  room: string;
  roomID: string | number;
  userID: string;
  privileges: number;
  iceServers: RTCIceServer[];
}

export interface PublishedTrack {
  trackID: string;
  kind: 'audio' | 'video';
  codec?: string;
  muted?: boolean;
}

export interface Member {
  userID: string;
  nickName: string;
  kind: 'webrtc' | 'rtmp' | 'http' | string;
  audioMuted: boolean;
  videoMuted: boolean;
  /** This member's remote media; null while it has no track. */
  stream: MediaStream | null;
  /** What the member publishes, as announced by the server. */
  tracks: PublishedTrack[];
}

export interface DeviceInfo {
  deviceId: string;
  groupId: string;
  kind: 'audioinput' | 'videoinput' | 'audiooutput';
  label: string;
}

export interface DeviceList {
  audioinput: DeviceInfo[];
  videoinput: DeviceInfo[];
  audiooutput: DeviceInfo[];
}

export interface RemoteMemberStats {
  video?: { framesDecoded: number; bytesReceived: number; packetsReceived: number };
  audio?: { packetsReceived: number; bytesReceived: number; audioLevel: number };
}

export interface ChatMessage {
  /** Server message id, increasing per room. */
  id: number;
  /** Sender's userID; "" for system messages. */
  from: string;
  /** Sender's nickname (their userID when they have none). */
  nickName: string;
  /** The recipient of a private message, else null. */
  to: string | null;
  /** "" when the message carries only data. */
  text: string;
  /** Any JSON the sender attached. */
  data?: unknown;
  /** Server time, ms since the epoch. */
  time: number;
  /** Posted by the operator's backend (POST /api/rooms/{room}/messages). */
  system: boolean;
  /** Sent by us. */
  self: boolean;
  /** Delivered in the chat_history that follows joining. */
  history: boolean;
  /** Only on our own messages: the id sendMessage() gave it. */
  clientID?: string;
}

export interface SendOptions {
  /** userID of the one member to send to (a private message). */
  to?: string;
  /** Any JSON to attach. */
  data?: unknown;
}

export interface PublishOptions {
  /** Publish these tracks instead of opening devices. */
  stream?: MediaStream;
  /** Open and publish the microphone (when no stream is given). Default true. */
  audio?: boolean;
  /** Open and publish the camera (when no stream is given). Default true. */
  video?: boolean;
  audioDeviceId?: string;
  videoDeviceId?: string;
}

export interface RoomEventMap {
  state: { state: RoomState };
  localstream: { stream: MediaStream };
  memberjoined: { member: Member };
  /** A known member's details changed (e.g. a repeated member_joined). */
  memberupdated: { member: Member };
  memberleft: { userID: string; reason: 'left' | 'timeout' | 'kicked' | 'disconnected' | string };
  track: { userID: string; kind: 'audio' | 'video'; track: MediaStreamTrack; stream: MediaStream };
  trackremoved: { userID: string; kind: 'audio' | 'video'; trackID: string };
  /** Remote mutes, and our own (then `local` is true and userID is ours). */
  mute: { userID: string | null; kind: 'audio' | 'video'; muted: boolean; local?: boolean };
  kicked: { reason: string; code: number };
  disconnected: { code: number; reason: string };
  error: { code: number | string; message: string; ref?: string };
  /** Every chat message: live ones, and each one of the history (history: true). */
  message: ChatMessage;
  /** The room's last messages, sent by the server right after joining (before their `message` events). */
  history: { messages: ChatMessage[] };
}

/**
 * Error thrown by join()/switchDevice()/publish(), rejected by sendMessage()/sendData()
 * (then `ref` is "chat" for errors from the server), and carried by `error` events.
 * `code` is the server's numeric code, or a string for client-side failures:
 * 'param', 'state', 'network', 'timeout', 'closed', 'aborted', 'media', 'webrtc', 'protocol'.
 */
export class OpenRoomError extends Error {
  constructor(code: number | string, message: string);
  code: number | string;
  ref?: string;
}

export class Room {
  constructor(options?: RoomOptions);

  /** Base URL of the server, without trailing slash. */
  readonly server: string;
  readonly state: RoomState;
  /** Our userID (confirmed by the server once joined). */
  readonly userID: string | null;
  readonly room: string | null;
  readonly roomID: string | number | null;
  readonly privileges: number;
  /** Remote members by userID (never ourselves). */
  readonly members: Map<string, Member>;
  readonly localStream: MediaStream | null;
  /** Peer connection carrying our media to the server (we offer). */
  readonly publisher: RTCPeerConnection | null;
  /** Peer connection carrying the others' media to us (the server offers). */
  readonly subscriber: RTCPeerConnection | null;
  readonly audioMuted: boolean;
  readonly videoMuted: boolean;

  join(options: JoinOptions): Promise<JoinResult>;
  leave(): void;

  setAudioMuted(muted: boolean): void;
  setVideoMuted(muted: boolean): void;
  muteAudio(): void;
  unmuteAudio(): void;
  muteVideo(): void;
  unmuteVideo(): void;

  static listDevices(): Promise<DeviceList>;
  /** replaceTrack on the publisher (no renegotiation); resolves with the new local track. */
  switchDevice(kind: 'audioinput' | 'videoinput', deviceId: string): Promise<MediaStreamTrack>;

  on<K extends keyof RoomEventMap>(event: K, listener: (event: RoomEventMap[K]) => void): this;
  off<K extends keyof RoomEventMap>(event: K, listener: (event: RoomEventMap[K]) => void): this;

  remoteStats(): Promise<Record<string, RemoteMemberStats>>;

  /**
   * Sends a chat message to the room (or to `options.to` only). Resolves with the server's
   * echo; rejects with an OpenRoomError: 4001 empty/bad fields, 3 no such recipient,
   * 4130 too long (text + data over 4096 bytes), 4290 too many (10/s), or
   * 'state' | 'closed' | 'timeout' | 'param'.
   */
  sendMessage(text: string, options?: SendOptions): Promise<ChatMessage>;
  /** Sends JSON data without text; same answer as sendMessage(). */
  sendData(data: unknown, options?: { to?: string }): Promise<ChatMessage>;

  /**
   * Publishes local media after join() (e.g. after joining with audio: false, video: false):
   * opens the devices, or takes the tracks of `options.stream`. Resolves with localStream.
   */
  publish(options?: PublishOptions): Promise<MediaStream>;
}

export default Room;
