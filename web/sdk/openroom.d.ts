// Type declarations for the openroom browser SDK: the package @openroom/sdk, also
// served by the server as /sdk/openroom.js. The SDK's JavaScript (room.js and the
// modules beside it) is type-checked against these declarations.

export type RoomState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface RoomOptions {
  /** Base URL of the openroom server, e.g. "http://host:8080". Default: the origin the SDK was loaded from. */
  server?: string;
  /**
   * Adaptive stream (default true): the SDK watches the <video> elements showing remote video
   * (attach(), or any element whose srcObject holds a member's video) with ResizeObserver,
   * IntersectionObserver and the page's visibility, and sends `track_settings` (debounced 250 ms)
   * so the server sends each video in the layer its largest visible element needs, and pauses
   * videos no element shows. false: never reported (the server sends the best layer the link allows).
   */
  adaptiveStream?: boolean;
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
  /** Publish the camera with simulcast (see simulcastEncodings()). Default true. */
  simulcast?: boolean;
  /** Overrides RoomOptions.adaptiveStream for this join. */
  adaptiveStream?: boolean;
}

export interface JoinResult {
  room: string;
  roomID: string | number;
  userID: string;
  privileges: number;
  iceServers: RTCIceServer[];
}

/**
 * What a track carries: a camera and its microphone, or a shared screen and its sound (the
 * legacy aux stream: privilege 64 to send it, 128 to receive it).
 */
export type TrackSource = 'camera' | 'microphone' | 'screen' | 'screen_audio';

export interface PublishedTrack {
  trackID: string;
  kind: 'audio' | 'video';
  source: TrackSource;
  codec?: string;
  muted?: boolean;
  /** Published in several simulcast layers. */
  simulcast?: boolean;
  /** The layers' rids, lowest first ("q" < "h" < "f"); [] for a single layer. */
  rids?: string[];
}

/** A member's connection quality, rated by the server from loss, jitter, RTT and bitrate. */
export type ConnectionQuality = 'excellent' | 'good' | 'poor' | 'lost';

export interface SpeakerInfo {
  userID: string;
  /** Audio level, 0..1. */
  level: number;
}

export interface QualityInfo {
  userID: string;
  quality: ConnectionQuality;
}

export interface Member {
  userID: string;
  nickName: string;
  kind: 'webrtc' | 'rtmp' | 'http' | string;
  audioMuted: boolean;
  videoMuted: boolean;
  /** This member's remote camera and microphone; null while it has no track. */
  stream: MediaStream | null;
  /** The screen this member shares (and its sound), a stream of its own; null while it shares none. */
  screenStream: MediaStream | null;
  /** What the member publishes, as announced by the server. */
  tracks: PublishedTrack[];
  /** Its connection quality (from the server's `quality`); null until known. */
  quality: ConnectionQuality | null;
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
  /** frameWidth/frameHeight: of the last decoded frame (0 before the first). */
  video?: { framesDecoded: number; bytesReceived: number; packetsReceived: number; frameWidth: number; frameHeight: number };
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
  /**
   * Publish a camera with simulcast (default: as joined, i.e. true unless join({simulcast: false})).
   * Applies to video published from now on; a replaced track keeps the layers it had.
   */
  simulcast?: boolean;
}

export interface ScreenShareOptions {
  /** Share the screen's sound where the browser offers it. Default true. */
  audio?: boolean;
  /** The capture's frame rate. Default 15 (at most 30). */
  frameRate?: number;
  /** The video track's content hint. Default 'text' (sharp rather than smooth). */
  contentHint?: '' | 'motion' | 'detail' | 'text';
}

/** A point on the whiteboard: [x, y], each 0..1 of the board's width and height. */
export type BoardPoint = [number, number];

/** A whiteboard operation (docs/protocol.md, "Whiteboard"). */
export interface BoardOp {
  kind: 'stroke' | 'erase' | 'undo' | 'clear';
  /** stroke: its id; sent again, the points are appended. */
  id?: string;
  points?: BoardPoint[];
  /** stroke: #rrggbb */
  color?: string;
  /** stroke: 0.5..50 */
  width?: number;
  /** erase: the stroke to remove; undo: the server says which stroke it removed. */
  target?: string;
}

/** An op in the room's order. */
export interface BoardEntry {
  userID: string;
  seq: number;
  op: BoardOp;
}

/** A stroke on the board as the ops so far make it. */
export interface BoardStroke {
  id: string;
  userID: string;
  color: string;
  width: number;
  points: BoardPoint[];
}

export interface BoardEventMap {
  /** One op, ours too, in the room's order (already applied to `strokes`). */
  op: BoardEntry;
  /** The whole board, after joining, resuming or re-joining (`strokes` rebuilt from it). */
  state: { seq: number; ops: BoardEntry[] };
}

/**
 * The room's shared whiteboard. Members with send video (16) or send aux (64) may draw;
 * others get `error` 4030 (the room's `error` event, ref "board"). Ops are rate-limited
 * to 30/s per member: send points in batches while a stroke is drawn.
 */
export declare class Board {
  /** The seq of the last op applied. */
  readonly seq: number;
  /** The strokes on the board, in the order they were begun. */
  readonly strokes: Map<string, BoardStroke>;
  /** Begins a stroke (the others see it at once) and returns its id. */
  draw(stroke: { points: BoardPoint[]; color: string; width: number; id?: string }): string;
  /** Adds points to one of our strokes. */
  append(id: string, points: BoardPoint[]): void;
  /** Removes a stroke (anyone's). */
  erase(id: string): void;
  /** Removes our last stroke still on the board. */
  undo(): void;
  /** Empties the board for everyone. */
  clear(): void;
  on<K extends keyof BoardEventMap>(event: K, fn: (payload: BoardEventMap[K]) => void): this;
  off<K extends keyof BoardEventMap>(event: K, fn: (payload: BoardEventMap[K]) => void): this;
}

export interface RoomEventMap {
  state: { state: RoomState };
  localstream: { stream: MediaStream };
  memberjoined: { member: Member };
  /** A known member's details changed (e.g. a repeated member_joined). */
  memberupdated: { member: Member };
  /** reason 'reconnecting': we are joining again after the server lost our session; the members come back as memberjoined. */
  memberleft: { userID: string; reason: 'left' | 'timeout' | 'kicked' | 'reconnecting' | string };
  /** `stream` is the member's `stream`, or its `screenStream` for a screen's tracks. */
  track: { userID: string; kind: 'audio' | 'video'; track: MediaStreamTrack; stream: MediaStream; source: TrackSource };
  trackremoved: { userID: string; kind: 'audio' | 'video'; trackID: string; source: TrackSource };
  /** We started sharing a screen (the stream), or stopped (null). */
  localscreen: { stream: MediaStream | null };
  /** Remote mutes, and our own (then `local` is true and userID is ours). */
  mute: { userID: string | null; kind: 'audio' | 'video'; muted: boolean; local?: boolean };
  kicked: { reason: string; code: number };
  /**
   * The signaling socket dropped (media may still flow): the SDK reconnects with backoff
   * (about 0.5, 1, 2, 4 s...) and resumes the session until the server's member timeout.
   * The state is `reconnecting` meanwhile; the others in the room see nothing.
   */
  reconnecting: { reason: string };
  /**
   * Back in the room: the session was resumed (what happened meanwhile has been replayed as
   * events), or, when the server had lost it (a restart), joined again with the same camera,
   * microphone and mute state (`rejoined`: the members were re-announced).
   */
  reconnected: { rejoined?: boolean };
  /** The server is shutting down within `within` ms (a restart or deploy); the SDK reconnects by itself. */
  goingaway: { reason: string; within: number };
  /**
   * The room is gone for us: we were kicked (4000), or could neither resume nor join again
   * within a minute (the code and reason say why).
   */
  disconnected: { code: number; reason: string };
  error: { code: number | string; message: string; ref?: string };
  /** Every chat message: live ones, and each one of the history (history: true). */
  message: ChatMessage;
  /** The room's last messages, sent by the server right after joining (before their `message` events). */
  history: { messages: ChatMessage[] };
  /** Who speaks now, loudest first ([] when nobody does); may include ourselves. Also in `activeSpeakers`. */
  speakers: SpeakerInfo[];
  /**
   * Connection quality changed: every member's (ourselves included) the first time, then the
   * changed ones. Also in `qualities`, `localQuality` and each Member's `quality`.
   */
  quality: QualityInfo[];
}

/** Bitrate cap (bits/s) of a video layer of the given height: 100k up to 180, 250k to 270, 600k to 360, 900k to 540, 1.7M to 720, else 2.5M. */
export function layerBitrate(height: number): number;

/**
 * The send encodings for camera video captured at `height` pixels, lowest layer first:
 * 3 (rids q, h, f at 1/4, 1/2, full size) from 540 up, 2 (q at 1/2, h full) from 360 to 539,
 * else 1 without rid (also with simulcast false); maxBitrate from layerBitrate(), maxFramerate 30.
 */
export function simulcastEncodings(height: number | undefined, simulcast?: boolean): RTCRtpEncodingParameters[];

/**
 * Error thrown by join()/switchDevice()/publish(), rejected by sendMessage()/sendData()
 * (then `ref` is "chat" for errors from the server), and carried by `error` events.
 * `code` is the server's numeric code, or a string for client-side failures:
 * 'param', 'state', 'network', 'timeout', 'closed', 'aborted', 'media', 'webrtc', 'protocol',
 * 'redirect' (a cluster sent the join to a bad URL, or round in circles).
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
  /** Who speaks now, loudest first (the last `speakers` event). */
  readonly activeSpeakers: SpeakerInfo[];
  /** Connection quality of every member the server rated, ourselves included (a copy). */
  readonly qualities: Map<string, ConnectionQuality>;
  /** Our own connection quality as the server rates it; null until known. */
  readonly localQuality: ConnectionQuality | null;
  /** The member whose video is pinned (setPinned), or null. */
  readonly pinned: string | null;
  /** Whether this room reports remote videos' size and visibility. */
  readonly adaptiveStream: boolean;

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
  /**
   * Shares a screen, window or tab (call it from a click: the browser asks which). Published as
   * a second video track, source "screen" (and "screen_audio" for its sound where the browser
   * shares it), one layer at full resolution, hinted as text. Needs privilege 64 (send aux).
   * Rejects with the browser's NotAllowedError when the picker is cancelled, or an
   * OpenRoomError ('state', 'forbidden', 'media', 'aborted'). Emits `localscreen`.
   */
  shareScreen(options?: ScreenShareOptions): Promise<MediaStream>;
  /** Stops sharing the screen (also when the browser's own "Stop sharing" is used). */
  stopScreen(): void;
  /** The screen we share, or null. */
  readonly screenStream: MediaStream | null;
  /** The room's shared whiteboard. */
  readonly board: Board;

  /**
   * Shows a member's media in `element`: its srcObject follows the member's stream (null while
   * it has none) until detach() or the member leaves; a <video> is watched for adaptive stream.
   * Elements are forgotten when the room is left.
   */
  attach<E extends HTMLMediaElement>(userID: string, element: E): E;
  /** Undoes attach() (clears srcObject) or stops watching an element the SDK found. */
  detach(element: HTMLMediaElement): void;
  /** Pins a member's video (the server serves it first), or unpins with null. Sends `track_settings` at once. */
  setPinned(userID: string | null): void;
}

export default Room;
