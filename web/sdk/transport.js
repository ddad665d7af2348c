// The media transports: two peer connections to the server, `publisher` (we
// offer our media, the server answers) and `subscriber` (the server offers the
// others' media, we answer); their negotiation and ICE candidates, and getting
// media back when a path breaks (ICE restart, a watch on incoming traffic).
//
// Of the room it uses the session counter, state and events, the signal
// client (to send, and to renew a socket that broke with the path), and it
// hands answered descriptions on to the simulcast layers (publisher) and the
// participants (subscriber).

import { errorMessage } from './errors.js';

/** @typedef {import('./room.js').Room} Room */

/** A connection still `disconnected` after this long restarts ICE. */
const ICE_RESTART_AFTER_MS = 500;
/** At most one ICE restart per connection this often. */
const ICE_RESTART_MIN_GAP_MS = 3000;
/**
 * A connection that received nothing for this long, after steady traffic, has
 * lost its path (media, RTCP and congestion feedback arrive many times a second;
 * Chromium itself calls the path disconnected only after about 5 s).
 */
const LIVENESS_MS = 1500;
const LIVENESS_CHECK_MS = 250;
/** Traffic seen at every check for this long makes a connection steady... */
const LIVENESS_STEADY_MS = 2000;
/**
 * ...where "every check" allows gaps up to this long: a loaded machine runs the
 * 250 ms checks late, while a connection that gets only keepalives sees gaps of
 * about 2 s.
 */
const LIVENESS_STEADY_GAP_MS = 800;
/** ... for a connection that got only sparse traffic (keepalives) before. */
const LIVENESS_IDLE_MS = 6000;

/**
 * One side of the media (publisher or subscriber): its peer connection, a
 * promise chain that serializes signaling work, and the remote ICE candidates
 * that arrived before the remote description.
 */
class PeerSide {
  /**
   * @param {'publisher'|'subscriber'} target
   * @param {RTCPeerConnection} pc
   */
  constructor(target, pc) {
    this.target = target;
    this.pc = pc;
    /** @type {RTCIceCandidateInit[]} */
    this.pending = [];
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    this.negotiating = false;
    this.again = false;
    /** @type {RTCOfferOptions|undefined} */
    this.againOptions = undefined;
    /** When ICE was last restarted (ms). */
    this.restartedAt = 0;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.restartTimer = undefined;
  }

  /**
   * Runs fn after every earlier job; the returned promise carries fn's result
   * or error, the chain itself never rejects.
   * @template T
   * @param {() => Promise<T>|T} fn
   * @returns {Promise<T>}
   */
  run(fn) {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => {},
      () => {},
    );
    return p;
  }

  async flushCandidates() {
    const list = this.pending;
    this.pending = [];
    for (const c of list) {
      try {
        await this.pc.addIceCandidate(c);
      } catch (err) {
        console.warn(`openroom: ${this.target}: addIceCandidate failed:`, errorMessage(err));
      }
    }
  }
}

export class Transport {
  /** @param {Room} room */
  constructor(room) {
    this.room = room;
    /** @type {PeerSide|null} */
    this.pub = null;
    /** @type {PeerSide|null} */
    this.sub = null;
    /** @type {ReturnType<typeof setInterval>|null} */
    this.liveTimer = null;
    /** When recover() last renewed the signal socket (ms). */
    this.renewedAt = 0;
    /** Restart ICE on every connection after the next resume (the network changed). */
    this.restartAll = false;
  }

  /**
   * Creates both peer connections (on `joined`); throws if the browser cannot.
   * @param {RTCIceServer[]} iceServers
   * @returns {{publisher: RTCPeerConnection, subscriber: RTCPeerConnection}}
   */
  open(iceServers) {
    /** @type {RTCConfiguration} */
    const config = { iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    let pubPC;
    let subPC;
    try {
      pubPC = new RTCPeerConnection(config);
      subPC = new RTCPeerConnection(config);
    } catch (err) {
      pubPC?.close();
      throw err;
    }
    this.pub = new PeerSide('publisher', pubPC);
    this.sub = new PeerSide('subscriber', subPC);
    for (const side of [this.pub, this.sub]) this.wire(side);
    return { publisher: pubPC, subscriber: subPC };
  }

  /** Closes both connections and stops watching them. */
  close() {
    if (this.liveTimer) clearInterval(this.liveTimer);
    this.liveTimer = null;
    for (const side of [this.pub, this.sub]) {
      if (!side) continue;
      clearTimeout(side.restartTimer);
      const pc = side.pc;
      pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
      try {
        pc.close();
      } catch {
        // ignore
      }
    }
    this.pub = this.sub = null;
  }

  /** @param {PeerSide} side */
  wire(side) {
    const pc = side.pc;
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      if (!c || !c.candidate) return; // end of candidates: the server ignores it anyway
      this.room._signal.send({ type: 'candidate', target: side.target, candidate: c.toJSON() });
    };
    const onChange = () => {
      this.updateState();
      const st = pc.connectionState ?? pc.iceConnectionState;
      clearTimeout(side.restartTimer);
      if (st === 'failed') this.recover('failed');
      // A short blip recovers by itself; one that lasts means the path is gone.
      else if (st === 'disconnected') side.restartTimer = setTimeout(() => this.recover('disconnected'), ICE_RESTART_AFTER_MS);
    };
    if ('connectionState' in pc) pc.onconnectionstatechange = onChange;
    else /** @type {any} */ (pc).oniceconnectionstatechange = onChange;
  }

  /**
   * Watches that packets still arrive on each connection's selected path: the
   * server sends something every few hundred ms (media, RTCP, transport-cc
   * feedback, ICE keepalives), so LIVENESS_MS of silence means the path is gone
   * (a network change), seconds before the browser calls it `disconnected`.
   */
  startLiveness() {
    if (this.liveTimer) clearInterval(this.liveTimer);
    /** @type {WeakMap<RTCPeerConnection, {packets:number, at:number, steadySince:number}>} */
    const seen = new WeakMap();
    let checking = false; // a slow getStats must not let two checks interleave
    this.liveTimer = setInterval(async () => {
      if (checking) return;
      checking = true;
      try {
        await check();
      } finally {
        checking = false;
      }
    }, LIVENESS_CHECK_MS);
    const check = async () => {
      for (const side of [this.pub, this.sub]) {
        if (!side) continue;
        const pc = side.pc;
        if ((pc.connectionState ?? pc.iceConnectionState) !== 'connected') {
          seen.delete(pc);
          continue;
        }
        let packets = -1; // bytes, in fact: what the transport received
        try {
          (await pc.getStats()).forEach((r) => {
            if (r.type === 'transport' && typeof r.bytesReceived === 'number') packets = Math.max(packets, r.bytesReceived);
          });
        } catch {
          continue;
        }
        if (packets < 0 || side !== this.pub && side !== this.sub) continue;
        const now = Date.now();
        const last = seen.get(pc);
        // A connection that had traffic at every check (media, RTCP, feedback) for
        // LIVENESS_STEADY_MS and then none for LIVENESS_MS has lost its path; one
        // that only gets keepalives (every 2 s) is given longer.
        if (!last || packets !== last.packets) {
          const steadySince = last && now - last.at <= LIVENESS_STEADY_GAP_MS ? last.steadySince : now;
          seen.set(pc, { packets, at: now, steadySince });
        } else if (now - last.at >= (last.at - last.steadySince >= LIVENESS_STEADY_MS ? LIVENESS_MS : LIVENESS_IDLE_MS)) {
          seen.delete(pc);
          this.recover(`${side.target}: nothing received for ${now - last.at} ms`, true);
        }
      }
    };
  }

  /**
   * Restarts ICE on one connection (new credentials, new candidate pairs):
   * the publisher with our own offer, the subscriber by asking the server to
   * offer again. Media resumes without publishing or subscribing again. At
   * most once per ICE_RESTART_MIN_GAP_MS per connection.
   * @param {PeerSide} side
   * @param {string} why
   */
  restartIce(side, why) {
    if (side !== this.pub && side !== this.sub) return; // a closed connection
    const now = Date.now();
    if (now - (side.restartedAt ?? 0) < ICE_RESTART_MIN_GAP_MS) return;
    side.restartedAt = now;
    console.info(`openroom: ${side.target}: restarting ICE (${why})`);
    if (side.target === 'publisher') this.negotiatePublisher({ iceRestart: true });
    else this.room._signal.send({ type: 'ice_restart', target: 'subscriber' });
  }

  /**
   * media_lost: the server stopped hearing from one of our connections
   * (consent failed on its side). Our socket works, so ICE restarts at once.
   * @param {any} msg
   */
  onMediaLost(msg) {
    const side = msg.target === 'publisher' ? this.pub : msg.target === 'subscriber' ? this.sub : null;
    if (side) this.restartIce(side, `the server lost it (${msg.state ?? 'disconnected'})`);
  }

  /** The device's network changed (or came back): both connections find new paths. */
  onNetworkChange() {
    const state = this.room.state;
    if (state !== 'connected' && state !== 'reconnecting') return;
    this.recover('network change', true);
  }

  /**
   * A media path broke (or the network changed). The signaling socket most
   * likely broke with it (a TCP connection bound to an address that is gone
   * can look open for minutes), and ICE restarts need signaling: the session
   * is resumed on a fresh socket at once, then ICE restarts on the broken
   * connections (all of them after a network change). Once per
   * ICE_RESTART_MIN_GAP_MS.
   * @param {string} why
   * @param {boolean} [all] restart every connection, not only the broken ones
   */
  recover(why, all = false) {
    if (all) this.restartAll = true;
    const signal = this.room._signal;
    if (!signal.ws) return; // a resume runs: it restarts ICE when it is done
    const now = Date.now();
    if (now - this.renewedAt < ICE_RESTART_MIN_GAP_MS) {
      this.restartBroken(all, false); // the socket is fresh: restart ICE over it
      return;
    }
    this.renewedAt = now;
    console.info(`openroom: media path lost (${why}): resuming on a fresh socket, then restarting ICE`);
    signal.renew(why);
  }

  /**
   * After a resume: what we sent on the dead socket may be lost. A publisher
   * offer still unanswered is sent again, and connections that are down
   * restart ICE.
   */
  afterResume() {
    const pub = this.pub;
    if (pub?.negotiating && pub.pc.signalingState === 'have-local-offer' && pub.pc.localDescription) {
      this.room._signal.send({ type: 'offer', target: 'publisher', sdp: pub.pc.localDescription.sdp });
    }
    const all = this.restartAll;
    this.restartAll = false;
    this.restartBroken(all, true);
  }

  /**
   * Restarts ICE on the connections that are down (all of them with `all`);
   * `now` ignores the per-connection gap (what was sent before a resume is lost).
   * @param {boolean} all
   * @param {boolean} now
   */
  restartBroken(all, now) {
    for (const side of [this.pub, this.sub]) {
      if (!side) continue;
      const st = side.pc.connectionState ?? side.pc.iceConnectionState;
      if (all || st === 'disconnected' || st === 'failed') {
        if (now) side.restartedAt = 0;
        this.restartIce(side, all ? 'network change' : st);
      }
    }
  }

  /** The room's state, connected <-> reconnecting, from the connections' states. */
  updateState() {
    const room = this.room;
    if (room.state !== 'connected' && room.state !== 'reconnecting') return;
    let broken = !room._signal.ws; // the socket is being resumed
    for (const side of [this.pub, this.sub]) {
      if (!side) continue;
      const s = side.pc.connectionState ?? side.pc.iceConnectionState;
      if (s === 'disconnected' || s === 'failed') broken = true;
    }
    room._setState(broken ? 'reconnecting' : 'connected');
  }

  /**
   * Offers our media on the publisher. Only one offer is in flight; a request
   * made meanwhile runs when the answer is in.
   * @param {RTCOfferOptions} [options]
   */
  negotiatePublisher(options) {
    const side = this.pub;
    if (!side) return;
    if (side.negotiating) {
      side.again = true;
      if (options?.iceRestart) side.againOptions = options;
      return;
    }
    side.negotiating = true;
    const room = this.room;
    const session = room._session;
    side
      .run(async () => {
        if (session !== room._session) return;
        const offer = await side.pc.createOffer(options);
        if (session !== room._session) return;
        await side.pc.setLocalDescription(offer);
        if (session !== room._session) return;
        const sdp = side.pc.localDescription?.sdp ?? offer.sdp;
        const sources = room._local.sources(); // the shared screen's m-lines, once they have mids
        const msg = Object.keys(sources).length > 0 ? { type: 'offer', target: 'publisher', sdp, sources } : { type: 'offer', target: 'publisher', sdp };
        if (!room._signal.send(msg)) side.negotiating = false;
      })
      .catch((err) => {
        side.negotiating = false;
        if (session === room._session) room._emitError('webrtc', `publish offer failed: ${errorMessage(err)}`);
      });
  }

  /** The server refused our offer: go back to stable so a later offer can work. */
  publisherOfferFailed() {
    const side = this.pub;
    if (!side || !side.negotiating) return;
    side
      .run(async () => {
        if (side.pc.signalingState === 'have-local-offer') {
          await side.pc.setLocalDescription({ type: 'rollback' });
        }
      })
      .catch(() => {})
      .finally(() => {
        side.negotiating = false;
        side.again = false;
      });
  }

  /** @param {any} msg */
  onAnswer(msg) {
    if (msg.target && msg.target !== 'publisher') return;
    const side = this.pub;
    if (!side || typeof msg.sdp !== 'string') return;
    const room = this.room;
    const session = room._session;
    side
      .run(async () => {
        if (side.pc.signalingState !== 'have-local-offer') {
          console.warn('openroom: unexpected publisher answer in state', side.pc.signalingState);
          return;
        }
        await side.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        await side.flushCandidates();
        if (session !== room._session) return;
        room._layers.afterAnswer(msg.sdp);
      })
      .catch((err) => {
        if (session === room._session) room._emitError('webrtc', `cannot apply the server's answer: ${errorMessage(err)}`);
      })
      .finally(() => {
        if (session !== room._session) return;
        side.negotiating = false;
        if (side.again) {
          const opts = side.againOptions;
          side.again = false;
          side.againOptions = undefined;
          this.negotiatePublisher(opts);
        }
      });
  }

  /** @param {any} msg */
  onOffer(msg) {
    if (msg.target && msg.target !== 'subscriber') return;
    const side = this.sub;
    if (!side || typeof msg.sdp !== 'string') return;
    const room = this.room;
    const session = room._session;
    side
      .run(async () => {
        const pc = side.pc;
        if (pc.signalingState === 'have-remote-offer') {
          // An earlier offer we could not answer: start over with this one.
          await pc.setRemoteDescription({ type: 'rollback' });
        }
        await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        await side.flushCandidates();
        const answer = await pc.createAnswer();
        if (session !== room._session) return;
        await pc.setLocalDescription(answer);
        if (session !== room._session) return;
        room._signal.send({ type: 'answer', target: 'subscriber', sdp: pc.localDescription?.sdp ?? answer.sdp });
        room._participants.reconcile();
      })
      .catch((err) => {
        if (session === room._session) room._emitError('webrtc', `cannot answer the server's offer: ${errorMessage(err)}`);
      });
  }

  /** @param {any} msg */
  onCandidate(msg) {
    const side = msg.target === 'publisher' ? this.pub : msg.target === 'subscriber' ? this.sub : null;
    const c = msg.candidate;
    if (!side || !c) return;
    /** @type {RTCIceCandidateInit} */
    const init = typeof c === 'string' ? { candidate: c, sdpMid: '0', sdpMLineIndex: 0 } : c;
    if (!init.candidate) return; // end of candidates
    side
      .run(async () => {
        if (!side.pc.remoteDescription) {
          side.pending.push(init);
          return;
        }
        await side.pc.addIceCandidate(init);
      })
      .catch((err) => console.warn(`openroom: ${side.target}: addIceCandidate failed:`, errorMessage(err)));
  }
}
