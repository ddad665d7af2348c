// Inbound media statistics per remote member, from the subscriber's getStats().

/** @typedef {import('./openroom.js').Member} Member */
/** @typedef {import('./openroom.js').RemoteMemberStats} RemoteMemberStats */

/**
 * Every current member has an entry; `video`/`audio` appear once the browser
 * has stats for that kind (the busiest stream of that kind when there are several).
 * @param {RTCPeerConnection|null} pc the subscriber
 * @param {Map<string, Member>} members
 * @returns {Promise<Record<string, RemoteMemberStats>>}
 */
export async function remoteStats(pc, members) {
  /** @type {Record<string, RemoteMemberStats>} */
  const out = {};
  for (const id of members.keys()) out[id] = {};
  if (!pc || pc.connectionState === 'closed') return out;
  /** @type {RTCStatsReport} */
  let report;
  try {
    report = await pc.getStats();
  } catch {
    return out;
  }

  /** track id -> userID, from the streams we hand out. */
  const owner = new Map();
  for (const m of members.values()) {
    for (const t of m.stream?.getTracks() ?? []) owner.set(t.id, m.userID);
  }
  /** mid -> userID, for browsers whose inbound-rtp lacks trackIdentifier. */
  const midOwner = new Map();
  try {
    for (const tr of pc.getTransceivers()) {
      const t = tr.receiver.track;
      if (tr.mid != null && t && owner.has(t.id)) midOwner.set(tr.mid, owner.get(t.id));
    }
  } catch {
    // closed meanwhile
  }

  /** @type {Record<string, any>} */
  const best = {};
  report.forEach((/** @type {any} */ s) => {
    if (s.type !== 'inbound-rtp') return;
    const kind = s.kind ?? s.mediaType;
    if (kind !== 'audio' && kind !== 'video') return;
    let trackId = s.trackIdentifier;
    if (!trackId && s.trackId) trackId = /** @type {any} */ (report).get(s.trackId)?.trackIdentifier;
    let userID = trackId ? owner.get(trackId) : undefined;
    if (!userID && s.mid != null) userID = midOwner.get(s.mid);
    if (!userID || !out[userID]) return;
    const key = `${userID}\n${kind}`;
    if (best[key] && (best[key].bytesReceived ?? 0) >= (s.bytesReceived ?? 0)) return;
    best[key] = s;
    if (kind === 'video') {
      out[userID].video = {
        framesDecoded: s.framesDecoded ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
        packetsReceived: s.packetsReceived ?? 0,
        frameWidth: s.frameWidth ?? 0,
        frameHeight: s.frameHeight ?? 0,
      };
    } else {
      let level = s.audioLevel;
      if (typeof level !== 'number' && s.trackId) level = /** @type {any} */ (report).get(s.trackId)?.audioLevel;
      out[userID].audio = {
        packetsReceived: s.packetsReceived ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
        audioLevel: typeof level === 'number' ? level : 0,
      };
    }
  });
  return out;
}
